import ArgumentParser
import SwitchyardCapture

extension CaptureFormat: ExpressibleByArgument {}
extension CapturePoints: ExpressibleByArgument {}
