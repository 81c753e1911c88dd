import Foundation
import S3Core

/// Builds the XML bodies of S3 responses, every text node escaped.
struct XMLResponseWriter {
    static let s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private let root: String

    /// Starts a document whose root element carries the S3 namespace.
    init(root: String) {
        text += "<\(root) xmlns=\"\(Self.s3Namespace)\">"
        self.root = root
    }

    /// A document whose root element holds only text, e.g. `<LocationConstraint>`.
    init(root: String, text: String) {
        self.init(root: root)
        self.text += XMLText.escape(text)
    }

    mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(XMLText.escape(value))</\(name)>"
    }

    mutating func element(_ name: String, _ value: Int) {
        element(name, String(value))
    }

    mutating func element(_ name: String, _ value: Bool) {
        element(name, value ? "true" : "false")
    }

    mutating func element(_ name: String, _ date: Date) {
        element(name, Self.timestamp(date))
    }

    /// Writes `<name>`, the children `body` writes, and `</name>`.
    mutating func element(_ name: String, _ body: (inout XMLResponseWriter) -> Void) {
        text += "<\(name)>"
        body(&self)
        text += "</\(name)>"
    }

    /// The document with its root element closed.
    var document: String {
        text + "</\(root)>"
    }

    /// S3's XML timestamps: ISO 8601 in UTC with milliseconds, `2009-10-12T17:50:30.000Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}
