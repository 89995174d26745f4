#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// JSON coding of control payloads. Keys are written sorted so that the same reply is the
/// same bytes every time.
public enum ControlJSON {
    public static func encode<Body: Encodable>(_ body: Body) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own payload types cannot fail; a failure is a programming error.
        let data = try! encoder.encode(body)
        return ByteBuffer(bytes: data)
    }

    /// Decodes a control payload; an empty payload counts as `{}`.
    public static func decode<Body: Decodable>(_ type: Body.Type, from payload: ByteBuffer) throws(ControlPayloadError) -> Body {
        let bytes = payload.readableBytes == 0 ? Array("{}".utf8) : Array(payload.readableBytesView)
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw ControlPayloadError("payload is not valid UTF-8 JSON")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw ControlPayloadError(describing: error)
        } catch {
            throw ControlPayloadError("payload is not valid JSON")
        }
    }
}

/// A control payload that is not the JSON its message type needs.
public struct ControlPayloadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }

    init(describing error: DecodingError) {
        switch error {
        case .keyNotFound(let key, _):
            self.init("missing \"\(key.stringValue)\"")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            if let key = context.codingPath.last {
                self.init("\"\(key.stringValue)\" must be \(Self.describe(type))")
            } else {
                self.init("payload must be a JSON object")
            }
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            self.init("\"\(context.codingPath.last!.stringValue)\" has an invalid value")
        default:
            self.init("payload is not valid JSON")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is UInt32.Type, is Int.Type: "an integer"
        default: "a JSON object"
        }
    }
}
