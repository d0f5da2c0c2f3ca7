import Foundation

extension PluginTestKit {
    /// Checks that a layer survives config -> JSON -> registry -> layer:
    /// the rebuilt layer writes the same config, and building both on
    /// `inputShape` from one seed gives the same output shape, the same
    /// parameter names, shapes and values, and the same buffer names.
    public static func checkConfigRoundTrip(of layer: any Layer, inputShape: [Int], registry: Registry = .shared) throws {
        let original = layer.config
        let typeName: String
        do { typeName = try original.typeName() } catch {
            throw Failure("\(type(of: layer)): its config has no string 'type' field: \(original)")
        }
        guard registry.layerType(named: typeName) != nil else {
            throw Failure("\(type(of: layer)): its config type '\(typeName)' is not registered")
        }
        let rebuilt: any Layer
        do { rebuilt = try registry.layer(json: original.jsonData) } catch {
            throw Failure("\(type(of: layer)): rebuilding from \(original) threw \(error)")
        }
        guard rebuilt.config.fields == original.fields else {
            throw Failure("\(type(of: layer)): config \(original) came back as \(rebuilt.config)")
        }
        var (a, b) = (layer, rebuilt)
        var (ga, gb) = (SeededGenerator(seed: 7), SeededGenerator(seed: 7))
        let shapes: ([Int], [Int])
        do { shapes = (try a.build(inputShape: inputShape, generator: &ga), try b.build(inputShape: inputShape, generator: &gb)) } catch {
            throw Failure("\(type(of: layer)): build(inputShape: \(inputShape)) threw \(error)")
        }
        guard shapes.0 == shapes.1 else {
            throw Failure("\(type(of: layer)): output shape \(shapes.0) became \(shapes.1) after the round trip")
        }
        let (pa, pb) = (a.namedParameters, b.namedParameters)
        guard pa.map(\.name) == pb.map(\.name), pa.map(\.value.shape) == pb.map(\.value.shape) else {
            throw Failure(
                "\(type(of: layer)): parameters \(pa.map { "\($0.name)\($0.value.shape)" }) became \(pb.map { "\($0.name)\($0.value.shape)" })"
            )
        }
        for (x, y) in zip(pa, pb) where x.value.scalars != y.value.scalars {
            throw Failure("\(type(of: layer)): parameter '\(x.name)' initializes differently after the round trip")
        }
        guard a.buffers.map(\.name) == b.buffers.map(\.name) else {
            throw Failure("\(type(of: layer)): buffers \(a.buffers.map(\.name)) became \(b.buffers.map(\.name))")
        }
    }

    /// Checks that a model rebuilt from its JSON config has the same config,
    /// output shapes and parameters (names, shapes and values).
    public static func checkConfigRoundTrip(of model: Model, registry: Registry = .shared) throws {
        let rebuilt: Model
        do { rebuilt = try registry.model(json: model.config.jsonData) } catch {
            throw Failure("model: rebuilding from \(model.config) threw \(error)")
        }
        guard rebuilt.config.fields == model.config.fields else {
            throw Failure("model: config \(model.config) came back as \(rebuilt.config)")
        }
        guard rebuilt.outputShapes == model.outputShapes else {
            throw Failure("model: output shapes \(model.outputShapes) became \(rebuilt.outputShapes)")
        }
        let (pa, pb) = (model.namedParameters, rebuilt.namedParameters)
        guard pa.map(\.name) == pb.map(\.name), pa.map(\.value.shape) == pb.map(\.value.shape) else {
            throw Failure("model: parameters \(pa.map(\.name)) became \(pb.map(\.name))")
        }
    }
}
