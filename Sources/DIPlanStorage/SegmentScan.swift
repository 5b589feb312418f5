/// What reading one log segment found: its records and how it ends.
public struct SegmentScan: Sendable {
    /// How a segment ends.
    public enum End: Sendable, Equatable {
        /// After its last whole record.
        case clean
        /// In a record that a crash cut short (or left half-written): the bytes from `offset` on.
        case torn(offset: Int)
        /// In nothing but zeros from `offset` on: room made ready ahead of the
        /// records, or a header that never reached the disk.
        case zeros(offset: Int)
        /// In a damaged record that a crash cannot explain: more data follows it, or it breaks the sequence.
        case corrupt(offset: Int, reason: String)
    }

    public static let magic: [UInt8] = Array("DPWAL001".utf8)
    public static let headerLength = 16
    public static let recordHeaderLength = 16

    public var path: String
    public var firstRevision: UInt64
    public var records: [LogRecord]
    /// The offset after the last good record.
    public var goodEnd: Int
    public var end: End
    /// The file's length.
    public var length: Int

    /// Reads a segment file. A damaged record is torn when nothing but it
    /// (or zeros) follows and no whole record comes after it; anything else
    /// is corruption.
    public static func read(_ path: String, keepPayloads: Bool = true) throws(StorageError) -> SegmentScan {
        let bytes = try FileIO.readAll(path)
        guard bytes.count >= headerLength, Array(bytes[0..<8]) == magic else {
            // A segment created but never written is empty: nothing to cut.
            if bytes.allSatisfy({ $0 == 0 }) {
                return SegmentScan(
                    path: path, firstRevision: 0, records: [], goodEnd: 0, end: bytes.isEmpty ? .clean : .zeros(offset: 0),
                    length: bytes.count)
            }
            return SegmentScan(
                path: path, firstRevision: 0, records: [], goodEnd: 0,
                end: .corrupt(offset: 0, reason: "not a diplan log segment"), length: bytes.count)
        }
        let first = LittleEndian.uint64(bytes, at: 8)
        var scan = SegmentScan(
            path: path, firstRevision: first, records: [], goodEnd: headerLength, end: .clean, length: bytes.count)
        var offset = headerLength
        var expected = first
        while offset < bytes.count {
            let rest = bytes.count - offset
            func damaged(_ reason: String, recordEnd: Int) -> End {
                if bytes[offset...].allSatisfy({ $0 == 0 }) { return .zeros(offset: offset) }
                // Torn when the damage runs to the end of the file (or only zeros follow)…
                let after = min(max(recordEnd, offset), bytes.count)
                guard bytes[after...].allSatisfy({ $0 == 0 }) else { return .corrupt(offset: offset, reason: reason) }
                // …and it is not a damaged length or header that merely claims so: whole records after it show that.
                if let next = wholeRecord(in: bytes, after: offset, from: expected) {
                    return .corrupt(offset: offset, reason: "\(reason); a whole record of revision \(next) follows it")
                }
                return .torn(offset: offset)
            }
            guard rest >= recordHeaderLength else {
                scan.end = damaged("a record header is cut short", recordEnd: bytes.count)
                break
            }
            let length = Int(LittleEndian.uint32(bytes, at: offset))
            let crc = LittleEndian.uint32(bytes, at: offset + 4)
            let revision = LittleEndian.uint64(bytes, at: offset + 8)
            if length == 0 && crc == 0 && revision == 0 {
                scan.end = damaged("a record of zeros", recordEnd: bytes.count)
                break
            }
            let recordEnd = offset + recordHeaderLength + length
            guard recordEnd <= bytes.count else {
                scan.end = damaged("a record runs past the end of the file", recordEnd: bytes.count)
                break
            }
            let actual = bytes.withUnsafeBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<recordEnd]))
            }
            guard actual == crc else {
                scan.end = damaged("checksum mismatch in the record of revision \(revision)", recordEnd: recordEnd)
                break
            }
            guard revision == expected else {
                scan.end = .corrupt(offset: offset, reason: "revision \(revision) where \(expected) was due")
                break
            }
            scan.records.append(
                LogRecord(
                    revision: revision, payload: keepPayloads ? Array(bytes[(offset + recordHeaderLength)..<recordEnd]) : []))
            expected += 1
            offset = recordEnd
            scan.goodEnd = offset
        }
        return scan
    }

    /// The revision of the first whole record (of revision `expected` or
    /// later, its checksum right) that starts after `offset`, looked for at
    /// every byte: only a scan that found damage calls this.
    static func wholeRecord(in bytes: [UInt8], after offset: Int, from expected: UInt64) -> UInt64? {
        bytes.withUnsafeBytes { raw -> UInt64? in
            var start = offset + 1
            while start + recordHeaderLength <= raw.count {
                defer { start += 1 }
                let revision = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
                // Revisions rise by one per record, so a later one lies within the bytes left.
                guard revision >= expected, revision - expected <= UInt64(raw.count) else { continue }
                let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
                let end = start + recordHeaderLength + length
                guard end <= raw.count else { continue }
                let crc = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4, as: UInt32.self))
                if CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 8)..<end])) == crc { return revision }
            }
            return nil
        }
    }

    /// The last revision in the segment; firstRevision − 1 when it holds none.
    public var lastRevision: UInt64 { records.last?.revision ?? (firstRevision == 0 ? 0 : firstRevision - 1) }

    /// Appends the bytes of one record as the log writes it.
    static func append(_ record: LogRecord, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.reserveCapacity(start + recordHeaderLength + record.payload.count)
        LittleEndian.append(UInt32(record.payload.count), to: &bytes)
        LittleEndian.append(UInt32(0), to: &bytes)
        LittleEndian.append(record.revision, to: &bytes)
        bytes.append(contentsOf: record.payload)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        for index in 0..<4 { bytes[start + 4 + index] = UInt8(truncatingIfNeeded: crc >> UInt32(index * 8)) }
    }

    static func header(firstRevision: UInt64) -> [UInt8] {
        var bytes = magic
        LittleEndian.append(firstRevision, to: &bytes)
        return bytes
    }
}
