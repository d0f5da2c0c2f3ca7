// SwiftGradNN: layers, losses, optimizers, the plugin registry.
@_exported import SwiftGrad
