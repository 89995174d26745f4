/// Renders bytes the way Python's `repr(bytes)` does (`b'marco polo'`), so our ping prints
/// exactly what the original tools printed.
public enum PythonBytesLiteral {
    public static func render<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let array = Array(bytes)
        let quote: UInt8 = array.contains(UInt8(ascii: "'")) && !array.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        var out = "b" + String(UnicodeScalar(quote))
        for byte in array {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case quote: out += "\\" + String(UnicodeScalar(quote))
            case UInt8(ascii: "\t"): out += "\\t"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case 0x20..<0x7F: out += String(UnicodeScalar(byte))
            default:
                let hex = String(byte, radix: 16)
                out += "\\x" + (byte < 16 ? "0" : "") + hex
            }
        }
        return out + String(UnicodeScalar(quote))
    }
}
