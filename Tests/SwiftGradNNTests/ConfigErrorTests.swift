import XCTest

@testable import SwiftGradNN

/// Bad configs throw descriptive `ConfigError`s and never crash.
final class ConfigErrorTests: XCTestCase {
    let registry = Registry.shared

    func layer(_ json: String) throws -> any Layer { try registry.layer(json: Data(json.utf8)) }
    func model(_ json: String) throws -> Model { try registry.model(json: Data(json.utf8)) }

    func testUnknownType() {
        assertConfigError(["unknown layer 'conv3d'", "conv2d", "dense"]) { try layer(#"{"type": "conv3d"}"#) }
        assertConfigError(["missing field 'type'"]) { try layer(#"{"units": 3}"#) }
    }

    func testMissingWrongTypeAndMisspeltFields() {
        assertConfigError(["dense", "missing field 'units'"]) { try layer(#"{"type": "dense"}"#) }
        assertConfigError(["'units' should be an integer, got a string"]) { try layer(#"{"type": "dense", "units": "ten"}"#) }
        assertConfigError(["'units' should be an integer"]) { try layer(#"{"type": "dense", "units": 2.5}"#) }
        assertConfigError(["'kernal_size' is not an option", "kernel_size"]) {
            try layer(#"{"type": "conv2d", "filters": 3, "kernal_size": 3}"#)
        }
        assertConfigError(["'use_bias' should be a boolean"]) { try layer(#"{"type": "dense", "units": 1, "use_bias": 1}"#) }
        assertConfigError(["'kernel_size' should be an integer or a pair"]) {
            try layer(#"{"type": "conv2d", "filters": 3, "kernel_size": [1, 2, 3]}"#)
        }
    }

    func testKernelAlias() throws {
        let conv = try layer(#"{"type": "conv2d", "filters": 2, "kernel": [3, 1]}"#)
        XCTAssertEqual(conv.config["kernel_size"], [3, 1])
        XCTAssertNil(conv.config["kernel"])
        assertConfigError(["'kernel' duplicates 'kernel_size'"]) {
            try layer(#"{"type": "conv2d", "filters": 2, "kernel": 3, "kernel_size": 3}"#)
        }
    }

    func testInvalidValues() {
        assertConfigError(["'filters' must be at least 1, got 0"]) { try layer(#"{"type": "conv2d", "filters": 0, "kernel_size": 3}"#) }
        assertConfigError(["'strides' must be at least 1"]) {
            try layer(#"{"type": "conv2d", "filters": 2, "kernel_size": 3, "strides": [1, 0]}"#)
        }
        assertConfigError(["'filters' 6 is not divisible by groups 4"]) {
            try layer(#"{"type": "conv2d", "filters": 6, "kernel_size": 3, "groups": 4}"#)
        }
        assertConfigError(["\"same\" needs an odd effective kernel"]) {
            try layer(#"{"type": "conv2d", "filters": 2, "kernel_size": 2, "padding": "same"}"#)
        }
        assertConfigError(["'padding'", "'full' is not a padding"]) {
            try layer(#"{"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "full"}"#)
        }
        assertConfigError(["'rate' must be in [0, 1), got 1.0"]) { try layer(#"{"type": "dropout", "rate": 1}"#) }
        assertConfigError(["'output_padding'"]) {
            try layer(#"{"type": "conv_transpose2d", "filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}"#)
        }
        assertConfigError(["'padding'", "at most half the pool size"]) {
            try layer(#"{"type": "max_pool2d", "pool_size": 2, "padding": 2}"#)
        }
        assertConfigError(["'kernel_initializer'", "'xavier' is not an initializer", "glorot_uniform"]) {
            try layer(#"{"type": "dense", "units": 2, "kernel_initializer": "xavier"}"#)
        }
        assertConfigError(["target_shape"]) { try layer(#"{"type": "reshape", "target_shape": [-1, -1]}"#) }
        assertConfigError(["momentum", "must be in"]) { try layer(#"{"type": "batch_norm2d", "momentum": 2}"#) }
    }

    func testBuildErrorsNameTheLayer() {
        assertConfigError(["layers[1]", "conv2d", "kernel_size", "larger than the padded input extent 4"]) {
            try model(
                #"{"type": "sequential", "input_shape": [1, 8, 8], "layers": [{"type": "max_pool2d", "pool_size": 2}, {"type": "conv2d", "filters": 2, "kernel_size": 5}, {"type": "flatten"}]}"#
            )
        }
        assertConfigError(["layers[0]", "dense", "add a Flatten"]) {
            try model(#"{"type": "sequential", "input_shape": [1, 8, 8], "layers": [{"type": "dense", "units": 2}]}"#)
        }
        assertConfigError(["model.layers[1] (dense)", "'units' must be at least 1"]) {
            try model(
                #"{"type": "sequential", "input_shape": [4], "layers": [{"type": "dense", "units": 2}, {"type": "dense", "units": 0}]}"#)
        }
        assertConfigError(["groups", "does not divide the 3 input channels"]) {
            try model(
                #"{"type": "sequential", "input_shape": [3, 4, 4], "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 1, "groups": 2}]}"#
            )
        }
        assertConfigError(["input_shape", "positive"]) { try model(#"{"type": "sequential", "input_shape": [0, 4], "layers": []}"#) }
        assertConfigError(["model", "missing field 'input_shape'"]) { try model(#"{"type": "sequential", "layers": []}"#) }
        assertConfigError(["malformed JSON"]) { try model(#"{"type": "sequential", "#) }
        assertConfigError(["'layers[0]' should be an object"]) { try model(#"{"type": "sequential", "input_shape": [2], "layers": [3]}"#) }
    }

    func testGraphErrors() {
        func graph(_ nodes: String, outputs: String = "") throws -> Model {
            try model(#"{"type": "graph", "input_shape": [2, 4, 4], "nodes": [\#(nodes)]\#(outputs)}"#)
        }
        assertConfigError(["'c9' is not \"input\" or an earlier node"]) {
            try graph(#"{"name": "a", "layer": {"type": "relu"}, "inputs": ["c9"]}"#)
        }
        assertConfigError(["'a' must be unique"]) {
            try graph(#"{"name": "a", "layer": {"type": "relu"}}, {"name": "a", "layer": {"type": "relu"}}"#)
        }
        assertConfigError(["'x.y' must be unique", "letters, digits"]) { try graph(#"{"name": "x.y", "layer": {"type": "relu"}}"#) }
        assertConfigError(["'head' is not a node"]) {
            try graph(#"{"name": "a", "layer": {"type": "relu"}}"#, outputs: #", "outputs": ["head"]"#)
        }
        assertConfigError(["'mul' is not a merge"]) { try graph(#"{"name": "a", "merge": "mul", "inputs": ["input", "input"]}"#) }
        assertConfigError(["exactly one input"]) { try graph(#"{"name": "a", "layer": {"type": "relu"}, "inputs": ["input", "input"]}"#) }
        assertConfigError(["add", "different shapes"]) {
            try graph(
                #"{"name": "p", "layer": {"type": "max_pool2d", "pool_size": 2}}, {"name": "s", "merge": "add", "inputs": ["p", "input"]}"#)
        }
        assertConfigError(["concatenate", "differ off axis 1"]) {
            try graph(
                #"{"name": "p", "layer": {"type": "max_pool2d", "pool_size": 2}}, {"name": "s", "merge": "concatenate", "inputs": ["p", "input"]}"#
            )
        }
        assertConfigError(["model.nodes[0]", "'type' names an unknown layer 'nope'", "conv2d"]) {
            try graph(#"{"name": "a", "layer": {"type": "nope"}}"#)
        }
        assertConfigError(["nodes[0]", "missing field 'layer'"]) { try graph(#"{"name": "a"}"#) }
    }
}
