/// The rule for every id in diplan: lower-case ASCII letters and digits in
/// words joined by single hyphens, at most 64 characters ("daugavpils-city").
public enum Slug {
    public static let maximumLength = 64

    public static func isValid(_ text: String) -> Bool {
        // Read where the string keeps its bytes: every id of every call is checked here.
        var text = text
        return text.withUTF8(isValid)
    }

    private static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumLength, bytes.first != UInt8(ascii: "-"),
            bytes.last != UInt8(ascii: "-")
        else { return false }
        var previousWasHyphen = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasHyphen = false
            case UInt8(ascii: "-"):
                if previousWasHyphen { return false }
                previousWasHyphen = true
            default:
                return false
            }
        }
        return true
    }
}
