/// The bytes of a stored object: one or more immutable segments that share storage with
/// the buffers they came from.
///
/// A multipart upload completes by joining the segments of its parts, and UploadPartCopy
/// takes a slice of its source, so neither copies object bytes: a multi-GiB object exists
/// once in memory however it was assembled.
struct ObjectBody: Sendable {
    private let segments: [ArraySlice<UInt8>]
    /// The offset of each segment's first byte in the object.
    private let starts: [Int]
    let count: Int

    init(_ bytes: [UInt8]) {
        self.init(segments: [bytes[...]])
    }

    /// The concatenation of several bodies, in order.
    init(joining bodies: [ObjectBody]) {
        self.init(segments: bodies.flatMap(\.segments))
    }

    private init(segments: [ArraySlice<UInt8>]) {
        var kept: [ArraySlice<UInt8>] = []
        var starts: [Int] = []
        var offset = 0
        for segment in segments where !segment.isEmpty {
            kept.append(segment)
            starts.append(offset)
            offset += segment.count
        }
        self.segments = kept
        self.starts = starts
        self.count = offset
    }

    /// The bytes in `range`, sharing storage with this body.
    func slice(_ range: Range<Int>) -> ObjectBody {
        var pieces: [ArraySlice<UInt8>] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            let piece = chunk(at: offset, maxLength: range.upperBound - offset)
            pieces.append(piece)
            offset += piece.count
        }
        return ObjectBody(segments: pieces)
    }

    /// The longest run of bytes starting at `offset` that lies in one segment, at most
    /// `maxLength` long: what a response writer sends next.
    func chunk(at offset: Int, maxLength: Int) -> ArraySlice<UInt8> {
        precondition(offset >= 0 && offset < count, "offset outside the object")
        let index = segmentIndex(containing: offset)
        let segment = segments[index]
        let start = segment.startIndex + (offset - starts[index])
        return segment[start..<min(segment.endIndex, start + maxLength)]
    }

    /// Calls `body` with each segment in order (hashing a body without flattening it).
    func forEachSegment(_ body: (ArraySlice<UInt8>) -> Void) {
        segments.forEach(body)
    }

    private func segmentIndex(containing offset: Int) -> Int {
        var low = 0, high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
