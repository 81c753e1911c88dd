import Foundation
import S3Core

/// An incremental parser for the `multipart/form-data` body of an S3 browser form upload
/// (POST Object). Bytes are fed in pieces of any size; the parser reports the text fields,
/// then the `file` part's headers, then the file's bytes as they come, and finally the
/// bytes of the closing delimiter.
///
/// The grammar (RFC 2046 §5.1.1, restricted by RFC 7578 for form-data):
///
///     multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
///                       body-part *encapsulation close-delimiter transport-padding
///                       [CRLF epilogue]
///     dash-boundary  := "--" boundary
///     encapsulation  := delimiter transport-padding CRLF body-part
///     delimiter      := CRLF dash-boundary
///     close-delimiter := delimiter "--"
///     transport-padding := *LWSP-char            ; SP / HTAB
///     body-part      := MIME-part-headers [CRLF *OCTET]
///     boundary       := 0*69<bchars> bcharsnospace
///     bchars         := bcharsnospace / " "
///     bcharsnospace  := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." /
///                       "/" / ":" / "=" / "?"
///
///     ; RFC 7578 §4.2: every part has
///     Content-Disposition: form-data; name="field"[; filename="name"]
///
/// S3's rules on top (AWS S3 developer guide, "HTML Form Fields"): the text fields come
/// first, the part named `file` comes last, and the form data before the file — fields,
/// boundaries and part headers — may not exceed 20 KB. The boundary cannot occur inside a
/// part (RFC 2046), so `CRLF "--" boundary` ends the file data wherever it appears, and the
/// CRLF in front of the closing delimiter belongs to the delimiter, not to the file.
///
/// Choices this parser makes where the RFCs leave room, each the stricter reading:
///
/// - **A part after the file is refused** (400 InvalidArgument). S3 ignores such fields;
///   a gateway that forwarded them would hand the upstream fields nobody verified, and
///   one that dropped them could not know the upstream body length in advance. The
///   delimiter after the file must therefore be the closing one.
/// - A delimiter followed by anything other than `--` or transport-padding + CRLF is
///   malformed (never file data): a store that read it as a delimiter must not see a body
///   the gateway read differently.
/// - `"--" boundary` at the start of a line anywhere but in a delimiter — after a lone CR or
///   LF, or at the start of the preamble, a field's value or the file — is malformed
///   (`dashBoundaryStartsALine`): other parsers end a part there.
/// - The epilogue after the closing delimiter may only be whitespace (SP, HTAB, CR, LF), at
///   most `Limits.maxEpilogueSize` bytes.
/// - Part headers end in CRLF; folded header lines, a `Content-Transfer-Encoding` other
///   than 7bit/8bit/binary, control characters in header values and invalid UTF-8 in
///   names, values and filenames are malformed.
/// - Quoted parameter values follow the HTML living standard (what browsers send): a `"`
///   ends the value and a backslash is an ordinary character, so `C:\dir\a.txt` stays a
///   path whose basename is `a.txt`. A value that ends in a backslash is malformed: RFC 2045
///   parsers read `\"` as an escaped quote and the rest of the header as the value.
///   `filename*=UTF-8''…` (RFC 5987) is decoded and wins over `filename`.
///
/// Field section parsing keeps at most `maxFieldSectionSize` bytes; file data is never
/// copied (it is handed out as slices of the input), and the only lookahead is a partial
/// match of the delimiter, whose bytes are known.
public struct MultipartFormParser: Sendable {
    public struct Limits: Sendable, Equatable {
        /// The most text fields before the file.
        public var maxFields: Int
        /// The longest value of one text field, in bytes.
        public var maxFieldSize: Int
        /// The most bytes before the file's data: preamble, boundaries, part headers and
        /// field values. S3 allows 20 KB.
        public var maxFieldSectionSize: Int
        /// The most bytes of transport padding and epilogue after the closing delimiter.
        public var maxEpilogueSize: Int

        public init(maxFields: Int = 64, maxFieldSize: Int = 20 * 1024, maxFieldSectionSize: Int = 20 * 1024,
                    maxEpilogueSize: Int = 1024) {
            self.maxFields = maxFields
            self.maxFieldSize = maxFieldSize
            self.maxFieldSectionSize = maxFieldSectionSize
            self.maxEpilogueSize = maxEpilogueSize
        }
    }

    /// What a piece of input contained. Buffers are valid only during the callback.
    public enum Event {
        /// A complete text field.
        case field(FormField)
        /// The `file` part's headers; `consume` returns right after this event, so the
        /// caller can verify the fields before any file byte is handed out.
        case fileHeader(FilePart)
        /// Bytes of the file's content.
        case fileData(UnsafeRawBufferPointer)
        /// Bytes of the closing delimiter (`CRLF "--" boundary "--"`), the transport padding
        /// and the epilogue, verbatim.
        case closing(UnsafeRawBufferPointer)
    }

    public let boundary: String
    public let limits: Limits
    /// The text fields read so far, in arrival order.
    public private(set) var fields: [FormField] = []
    /// The file part's headers, once they have been read.
    public private(set) var filePart: FilePart?
    /// The number of body bytes before the file's first data byte: everything up to and
    /// including the blank line after the file part's headers. Known with `filePart`.
    public private(set) var fieldSectionLength: Int?
    /// File bytes handed out so far.
    public private(set) var fileLength = 0

    /// `CRLF "--" boundary`.
    private let delimiter: [UInt8]
    /// The last file bytes handed out (at most as many as `"--" boundary` has), to find a
    /// dash-boundary that starts in one input and ends in the next.
    private var fileTail: [UInt8] = []
    private var state: State = .fieldSection(.preamble)
    /// Field section bytes not parsed yet, preceded by a virtual CRLF so that the first
    /// dash-boundary is found as a delimiter like every other.
    private var buffer: [UInt8] = [cr, lf]
    private var position = 0
    /// Buffer index before which the pattern being searched for cannot start (so that a
    /// field fed one byte at a time is not searched again from its beginning each time).
    private var scanned = 0
    /// Field section bytes taken from the input so far (the virtual CRLF not counted).
    private var sectionBytes = 0
    private var epilogueBytes = 0

    private enum State: Sendable {
        case fieldSection(Section)
        /// `matched` bytes of the delimiter were seen at the end of the previous input.
        case fileData(matched: Int)
        /// The delimiter after the file was seen; `dashes` of the closing `--` so far.
        case afterFileDelimiter(dashes: Int)
        /// After the closing delimiter.
        case epilogue
    }

    private enum Section: Sendable {
        case preamble
        case afterDelimiter
        case headers(PartHeaders)
        case value(name: String, start: Int)
    }

    private struct PartHeaders: Sendable {
        var disposition: ContentDisposition?
        var contentType: String?
        var sawTransferEncoding = false
    }

    struct ContentDisposition: Sendable, Equatable {
        var name: String
        var filename: String?
    }

    /// - Parameter boundary: the `boundary` parameter of the request's Content-Type.
    public init(boundary: String, limits: Limits = Limits()) throws(S3Error) {
        guard Self.isValidBoundary(boundary) else {
            throw S3Error.malformedPOSTRequest("the boundary must be 1 to 70 characters of RFC 2046's bchars, not ending in a space")
        }
        self.boundary = boundary
        self.limits = limits
        delimiter = [cr, lf, dash, dash] + Array(boundary.utf8)
    }

    /// A parser for a request whose Content-Type is `multipart/form-data; boundary=…`.
    public init(contentType: String, limits: Limits = Limits()) throws(S3Error) {
        try self.init(boundary: Self.boundary(fromContentType: contentType), limits: limits)
    }

    /// The `boundary` parameter of a `multipart/form-data` Content-Type (RFC 7578 §4.1;
    /// the value may be a token or a quoted-string).
    public static func boundary(fromContentType contentType: String) throws(S3Error) -> String {
        let parts = contentType.split(separator: ";", omittingEmptySubsequences: false)
        guard parts[0].trimmingCharacters(in: .whitespaces).asciiLowercased == "multipart/form-data" else {
            throw S3Error(code: "PreconditionFailed",
                          message: "Bucket POST must be of the enclosure-type multipart/form-data", status: 412)
        }
        var found: String?
        for parameter in parts.dropFirst() {
            let trimmed = parameter.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<equals].trimmingCharacters(in: .whitespaces).asciiLowercased == "boundary" else { continue }
            guard found == nil else { throw S3Error.malformedPOSTRequest("the Content-Type names two boundaries") }
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else {
                    throw S3Error.malformedPOSTRequest("the boundary's quoted-string is not closed")
                }
                value = String(value.dropFirst().dropLast())
            }
            found = value
        }
        guard let found else { throw S3Error.malformedPOSTRequest("the Content-Type has no boundary parameter") }
        return found
    }

    static func isValidBoundary(_ boundary: String) -> Bool {
        let bytes = Array(boundary.utf8)
        guard (1...70).contains(bytes.count), bytes.last != UInt8(ascii: " ") else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
                || Array("'()+_,-./:=? ".utf8).contains(byte)
        }
    }

    /// Whether the closing delimiter was seen.
    public var isComplete: Bool {
        if case .epilogue = state { return true }
        return false
    }

    /// Feeds the next bytes of the body and returns how many of them were consumed. All of
    /// them are, except when the `file` part's headers end inside `bytes`: the parser then
    /// stops after `.fileHeader`, and the caller feeds the rest (the first file bytes) once
    /// it has verified the fields.
    @discardableResult
    public mutating func consume(_ bytes: UnsafeRawBufferPointer,
                                 _ handle: (Event) throws(S3Error) -> Void) throws(S3Error) -> Int {
        if case .fieldSection = state {
            return try consumeFieldSection(bytes, handle)
        }
        try consumeAfterFieldSection(bytes, handle)
        return bytes.count
    }

    /// Called once the body has ended: it must have ended after the closing delimiter.
    public func finish() throws(S3Error) {
        switch state {
        case .epilogue: return
        case .fieldSection:
            throw S3Error.malformedPOSTRequest("the body ended before the file part")
        case .fileData, .afterFileDelimiter:
            throw S3Error.malformedPOSTRequest("the body ended before the closing boundary")
        }
    }

    // MARK: - Field section

    private mutating func consumeFieldSection(_ bytes: UnsafeRawBufferPointer,
                                              _ handle: (Event) throws(S3Error) -> Void) throws(S3Error) -> Int {
        let room = limits.maxFieldSectionSize - sectionBytes
        let take = min(room, bytes.count)
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<take]))
        sectionBytes += take
        try parseFieldSection(handle)
        guard case .fieldSection = state else {
            // The file's headers ended inside this input: the bytes after them are not ours yet.
            let unread = buffer.count - position
            sectionBytes -= unread
            fieldSectionLength = sectionBytes
            buffer = []
            position = 0
            return take - unread
        }
        if take < bytes.count {
            throw S3Error.maxPostPreDataLengthExceeded("more than \(limits.maxFieldSectionSize) bytes before the file's data")
        }
        return take
    }

    /// Parses what the buffer holds until it needs more input or reaches the file's data.
    private mutating func parseFieldSection(_ handle: (Event) throws(S3Error) -> Void) throws(S3Error) {
        while case .fieldSection(let section) = state {
            switch section {
            case .preamble:
                guard let found = search(delimiter, from: position) else { return }
                if Self.dashBoundaryStartsALine(in: buffer[position..<found], dashBoundary) {
                    throw Self.boundaryStartsALine("the preamble")
                }
                position = found + delimiter.count
                state = .fieldSection(.afterDelimiter)
            case .afterDelimiter:
                // "--" (close-delimiter), or transport-padding CRLF before the next part.
                var index = position
                guard index + 1 < buffer.count else { return }
                if buffer[index] == dash, buffer[index + 1] == dash {
                    throw S3Error.invalidArgument("POST requires exactly one file upload per request.")
                }
                while index < buffer.count, buffer[index] == space || buffer[index] == tab { index += 1 }
                guard index + 1 < buffer.count else { return }
                guard buffer[index] == cr, buffer[index + 1] == lf else {
                    throw S3Error.malformedPOSTRequest("a boundary must be followed by CRLF or '--'")
                }
                position = index + 2
                state = .fieldSection(.headers(PartHeaders()))
            case .headers(var headers):
                guard let end = search([cr, lf], from: position) else { return }
                let line = buffer[position..<end]
                position = end + 2
                if line.isEmpty {
                    try endOfPartHeaders(headers, handle)
                } else {
                    try Self.headerLine(line, into: &headers)
                    state = .fieldSection(.headers(headers))
                }
            case .value(let name, let start):
                guard let end = search(delimiter, from: start) else {
                    if buffer.count - start > limits.maxFieldSize + delimiter.count {
                        throw S3Error.maxPostPreDataLengthExceeded("the field '\(S3Error.printable(name))' is longer than \(limits.maxFieldSize) bytes")
                    }
                    return
                }
                guard end - start <= limits.maxFieldSize else {
                    throw S3Error.maxPostPreDataLengthExceeded("the field '\(S3Error.printable(name))' is longer than \(limits.maxFieldSize) bytes")
                }
                if Self.dashBoundaryStartsALine(in: buffer[start..<end], dashBoundary) {
                    throw Self.boundaryStartsALine("the field '\(S3Error.printable(name))'")
                }
                guard let value = String(validating: buffer[start..<end], as: UTF8.self) else {
                    throw S3Error.malformedPOSTRequest("the value of the field '\(S3Error.printable(name))' is not UTF-8")
                }
                guard fields.count < limits.maxFields else {
                    throw S3Error.maxPostPreDataLengthExceeded("more than \(limits.maxFields) fields")
                }
                let field = FormField(name: name, value: value)
                fields.append(field)
                position = end + delimiter.count
                state = .fieldSection(.afterDelimiter)
                try handle(.field(field))
            }
        }
    }

    private mutating func endOfPartHeaders(_ headers: PartHeaders,
                                           _ handle: (Event) throws(S3Error) -> Void) throws(S3Error) {
        guard let disposition = headers.disposition else {
            throw S3Error.malformedPOSTRequest("a part has no Content-Disposition header")
        }
        if disposition.name.asciiLowercased == "file" {
            let part = FilePart(fieldName: disposition.name, filename: disposition.filename,
                                contentType: headers.contentType)
            filePart = part
            state = .fileData(matched: 0)
            try handle(.fileHeader(part))
        } else {
            state = .fieldSection(.value(name: disposition.name, start: position))
        }
    }

    /// One `name: value` line of a part's headers.
    private static func headerLine(_ line: ArraySlice<UInt8>, into headers: inout PartHeaders) throws(S3Error) {
        guard let first = line.first, first != space, first != tab else {
            throw S3Error.malformedPOSTRequest("folded part header lines are not allowed")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw S3Error.malformedPOSTRequest("a part header line has no ':'")
        }
        let nameBytes = line[line.startIndex..<colon]
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenByte) else {
            throw S3Error.malformedPOSTRequest("a part header has an invalid name")
        }
        let valueBytes = line[(colon + 1)...]
        guard !valueBytes.contains(where: { ($0 < 0x20 && $0 != tab) || $0 == 0x7F }),
              let value = String(validating: valueBytes, as: UTF8.self)
        else {
            throw S3Error.malformedPOSTRequest("a part header value has control characters or is not UTF-8")
        }
        let trimmed = value.trimmingCharacters(in: [" ", "\t"])
        switch String(decoding: nameBytes, as: UTF8.self).asciiLowercased {
        case "content-disposition":
            guard headers.disposition == nil else {
                throw S3Error.malformedPOSTRequest("a part has two Content-Disposition headers")
            }
            headers.disposition = try parseDisposition(trimmed)
        case "content-type":
            guard headers.contentType == nil else {
                throw S3Error.malformedPOSTRequest("a part has two Content-Type headers")
            }
            headers.contentType = trimmed
        case "content-transfer-encoding":
            guard !headers.sawTransferEncoding, ["7bit", "8bit", "binary"].contains(trimmed.asciiLowercased) else {
                throw S3Error.malformedPOSTRequest("Content-Transfer-Encoding '\(S3Error.printable(trimmed))' is not supported")
            }
            headers.sawTransferEncoding = true
        default:
            break // RFC 7578 §4.8: other part headers are ignored.
        }
    }

    /// `form-data *( ";" name "=" ( token / quoted-string ) )`.
    static func parseDisposition(_ text: String) throws(S3Error) -> ContentDisposition {
        let bytes = Array(text.utf8)
        var index = 0
        func skipSpace() { while index < bytes.count, bytes[index] == space || bytes[index] == tab { index += 1 } }
        func token() -> [UInt8] {
            let start = index
            while index < bytes.count, isTokenByte(bytes[index]) { index += 1 }
            return Array(bytes[start..<index])
        }
        let type = token()
        guard String(decoding: type, as: UTF8.self).asciiLowercased == "form-data" else {
            throw S3Error.malformedPOSTRequest("a part's Content-Disposition must be form-data")
        }
        var parameters: [String: String] = [:]
        skipSpace()
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: ";") else {
                throw S3Error.malformedPOSTRequest("a Content-Disposition parameter must follow ';'")
            }
            index += 1
            skipSpace()
            if index == bytes.count { break } // a trailing ';'
            let name = String(decoding: token(), as: UTF8.self).asciiLowercased
            skipSpace()
            guard !name.isEmpty, index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                throw S3Error.malformedPOSTRequest("a Content-Disposition parameter must be name=value")
            }
            index += 1
            skipSpace()
            var value: [UInt8]
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") { index += 1 }
                guard index < bytes.count else {
                    throw S3Error.malformedPOSTRequest("a quoted Content-Disposition parameter is not closed")
                }
                value = Array(bytes[start..<index])
                index += 1
                // RFC 2045 parsers (Python's email, python-multipart) read `\"` as an escaped
                // quote and the value on past it: they would read other parameters.
                guard value.last != UInt8(ascii: "\\") else {
                    throw S3Error.malformedPOSTRequest("a quoted Content-Disposition parameter ends in a backslash, which other parsers read as an escaped quote")
                }
            } else {
                value = token()
            }
            guard parameters[name] == nil else {
                throw S3Error.malformedPOSTRequest("the Content-Disposition parameter '\(name)' is given twice")
            }
            parameters[name] = String(decoding: value, as: UTF8.self) // the header was valid UTF-8
            skipSpace()
        }
        guard let name = parameters["name"], !name.isEmpty else {
            throw S3Error.malformedPOSTRequest("a part's Content-Disposition has no name")
        }
        var filename = parameters["filename"]
        if let extended = parameters["filename*"] {
            filename = try decodeExtendedValue(extended)
        }
        return ContentDisposition(name: name, filename: filename)
    }

    /// RFC 5987 `UTF-8'[language]'percent-encoded`; other charsets are refused.
    static func decodeExtendedValue(_ text: String) throws(S3Error) -> String {
        let parts = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].asciiLowercased == "utf-8",
              let decoded = PercentEncoding.decode(parts[2]),
              !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw S3Error.malformedPOSTRequest("filename* must be UTF-8''percent-encoded text")
        }
        return decoded
    }

    // MARK: - File data and the closing delimiter

    private mutating func consumeAfterFieldSection(_ bytes: UnsafeRawBufferPointer,
                                                   _ handle: (Event) throws(S3Error) -> Void) throws(S3Error) {
        var index = 0
        let count = bytes.count
        // File data is handed out in runs as long as possible: a CR that turns out not to
        // start the delimiter stays inside the run. `runStart` is where the current run
        // began; `matchStart` where a partial delimiter match began in this input (nil
        // when it began in an earlier one, whose bytes the parser no longer has, but they
        // are the delimiter's first bytes).
        var runStart = 0
        var matchStart: Int?
        while index < count {
            switch state {
            case .fieldSection:
                preconditionFailure("field section bytes after the file part")
            case .fileData(let matched):
                if matched == 0 {
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
                    guard let found = memchr(rest.baseAddress!, Int32(cr), rest.count) else {
                        index = count
                        continue
                    }
                    let crIndex = index + (UnsafeRawPointer(found) - rest.baseAddress!)
                    matchStart = crIndex
                    index = crIndex + 1
                    state = .fileData(matched: 1)
                } else if bytes[index] == delimiter[matched] {
                    index += 1
                    if matched + 1 == delimiter.count {
                        // The run ends where the delimiter began.
                        try emitFileData(UnsafeRawBufferPointer(rebasing: bytes[runStart..<(matchStart ?? runStart)]), handle)
                        state = .afterFileDelimiter(dashes: 0)
                    } else {
                        state = .fileData(matched: matched + 1)
                    }
                } else {
                    // What looked like the start of the delimiter was data. The delimiter's
                    // CR occurs only at its start, so the current byte is examined afresh.
                    if matchStart == nil {
                        // The match began in an earlier input: its bytes are the
                        // delimiter's first `matched` bytes; the run restarts here.
                        let held = delimiter
                        try Self.withBytes(held, count: matched) { (bytes) throws(S3Error) in
                            try emitFileData(bytes, handle)
                        }
                        runStart = index
                    }
                    matchStart = nil
                    state = .fileData(matched: 0)
                }
            case .afterFileDelimiter(let dashes):
                let byte = bytes[index]
                if byte == dash {
                    index += 1
                    if dashes == 1 {
                        state = .epilogue
                        try Self.withBytes(delimiter + [dash, dash], count: delimiter.count + 2) { (closing) throws(S3Error) in
                            try handle(.closing(closing))
                        }
                    } else {
                        state = .afterFileDelimiter(dashes: 1)
                    }
                } else if dashes == 0, byte == space || byte == tab || byte == cr {
                    throw S3Error.invalidArgument("The file must be the last field of the form; this gateway does not accept fields after it.")
                } else {
                    throw S3Error.malformedPOSTRequest("the boundary after the file must be followed by '--'")
                }
            case .epilogue:
                let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
                guard rest.allSatisfy({ $0 == space || $0 == tab || $0 == cr || $0 == lf }) else {
                    throw S3Error.malformedPOSTRequest("only whitespace may follow the closing boundary")
                }
                epilogueBytes += rest.count
                guard epilogueBytes <= limits.maxEpilogueSize else {
                    throw S3Error.malformedPOSTRequest("more than \(limits.maxEpilogueSize) bytes follow the closing boundary")
                }
                try handle(.closing(rest))
                index = count
            }
        }
        if case .fileData(let matched) = state {
            // The input ended inside the file: the run goes out, except a partial match
            // at its end, which is held (as the delimiter's bytes) until the next input.
            let end = matched == 0 ? count : (matchStart ?? runStart)
            try emitFileData(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]), handle)
        }
    }

    private mutating func emitFileData(_ bytes: UnsafeRawBufferPointer,
                                       _ handle: (Event) throws(S3Error) -> Void) throws(S3Error) {
        guard !bytes.isEmpty else { return }
        if !fileTail.isEmpty {
            // A dash-boundary that starts in the bytes handed out before and ends in these.
            let window = fileTail + bytes.prefix(dashBoundary.count - 1)
            for start in max(0, fileTail.count - dashBoundary.count + 1)..<fileTail.count
            where window[start...].starts(with: dashBoundary) && (start == 0 || Self.isLineBreak(window[start - 1])) {
                throw Self.boundaryStartsALine("the file")
            }
        }
        if Self.dashBoundaryStartsALine(in: bytes, after: fileTail.last, dashBoundary) {
            throw Self.boundaryStartsALine("the file")
        }
        // Kept in place: no allocation per input once the tail is full.
        let kept = min(fileTail.count, dashBoundary.count - min(bytes.count, dashBoundary.count))
        fileTail.removeFirst(fileTail.count - kept)
        fileTail.append(contentsOf: bytes.suffix(dashBoundary.count - kept))
        fileLength += bytes.count
        try handle(.fileData(bytes))
    }

    /// `"--" boundary`, the delimiter without its CRLF.
    private var dashBoundary: ArraySlice<UInt8> { delimiter[2...] }

    /// Whether `dashBoundary` occurs in `content` at the start of a line: after a CR or an
    /// LF, or at the content's first byte when `previous` (the byte before it) is nil.
    ///
    /// RFC 2046 ends a part only at `CRLF "--" boundary`, and so does this parser; but the
    /// boundary anywhere else at a line start is where other parsers end it: Python's
    /// `email` and other line-based readers split lines at a lone CR or LF, and Go's
    /// mime/multipart (MinIO, SeaweedFS) ends a part whose content begins with it. A store
    /// that did would read a different form than the one verified — a shorter file, and
    /// fields after it nobody verified — so such content is refused (the forms differential
    /// in docs/fuzzing.md found the lone-LF shape). Clients choose a boundary their
    /// content does not hold, so no honest form is affected.
    static func dashBoundaryStartsALine(in content: UnsafeRawBufferPointer, after previous: UInt8?,
                                        _ dashBoundary: ArraySlice<UInt8>) -> Bool {
        guard let base = content.baseAddress else { return false }
        var at = 0
        while at < content.count, let found = memchr(base + at, Int32(dash), content.count - at) {
            at = UnsafeRawPointer(found) - base
            if content[at...].starts(with: dashBoundary),
               at == 0 ? previous.map(isLineBreak) ?? true : isLineBreak(content[at - 1]) {
                return true
            }
            at += 1
        }
        return false
    }

    /// The same over buffered field section bytes.
    static func dashBoundaryStartsALine(in content: ArraySlice<UInt8>, _ dashBoundary: ArraySlice<UInt8>) -> Bool {
        content.withUnsafeBytes { dashBoundaryStartsALine(in: $0, after: nil, dashBoundary) }
    }

    static func isLineBreak(_ byte: UInt8) -> Bool { byte == cr || byte == lf }

    static func boundaryStartsALine(_ what: String) -> S3Error {
        S3Error.malformedPOSTRequest("\(what) has the form's boundary at the start of a line, where other parsers end the part")
    }

    // MARK: - Helpers

    /// The first `count` bytes of `array`, for a closure with typed throws (the standard
    /// library's `withUnsafeBytes` rethrows untyped).
    private static func withBytes(_ array: [UInt8], count: Int,
                                  _ body: (UnsafeRawBufferPointer) throws(S3Error) -> Void) throws(S3Error) {
        var failure: S3Error?
        array.withUnsafeBytes { raw in
            do throws(S3Error) {
                try body(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// `find` in the buffer, remembering how far a failed search got.
    private mutating func search(_ pattern: [UInt8], from start: Int) -> Int? {
        if let found = Self.find(pattern, in: buffer, from: max(start, scanned)) {
            scanned = 0
            return found
        }
        scanned = max(start, buffer.count - pattern.count + 1)
        return nil
    }

    /// The first index at or after `start` where `pattern` occurs in `haystack`.
    static func find(_ pattern: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = pattern.first, haystack.count - start >= pattern.count else { return nil }
        var index = start
        let last = haystack.count - pattern.count
        while index <= last {
            if haystack[index] == first {
                var offset = 1
                while offset < pattern.count, haystack[index + offset] == pattern[offset] { offset += 1 }
                if offset == pattern.count { return index }
            }
            index += 1
        }
        return nil
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

extension MultipartFormParser {
    /// Convenience for tests and small bodies: feeds `bytes` and collects the events.
    /// File and closing bytes are returned concatenated.
    public mutating func consume(_ bytes: [UInt8]) throws(S3Error)
        -> (consumed: Int, fields: [FormField], file: FilePart?, fileData: [UInt8], closing: [UInt8]) {
        var fields: [FormField] = []
        var file: FilePart?
        var data: [UInt8] = []
        var closing: [UInt8] = []
        var result: Result<Int, S3Error> = .success(0)
        bytes.withUnsafeBytes { buffer in
            do throws(S3Error) {
                result = .success(try consume(buffer) { event in
                    switch event {
                    case .field(let field): fields.append(field)
                    case .fileHeader(let part): file = part
                    case .fileData(let bytes): data.append(contentsOf: bytes)
                    case .closing(let bytes): closing.append(contentsOf: bytes)
                    }
                })
            } catch {
                result = .failure(error)
            }
        }
        let consumed = try result.get()
        return (consumed, fields, file, data, closing)
    }
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")
private let dash = UInt8(ascii: "-")
private let space = UInt8(ascii: " ")
private let tab = UInt8(ascii: "\t")
