/// What reading one log segment found: its records, and how it ends —
/// cleanly, in a torn tail that a start cuts off, or in damage that stops it.
///
/// A segment is a 16-byte header (magic, first revision) and then, since
/// format 2, **batches**: each write of the log is one batch, so the unit
/// a power cut can tear is visible on disk. A batch is
///
///     "DPBT", body length u32, first revision u64, last revision u64,
///     synced-through u64, body CRC32C u32, header CRC32C u32   (40 bytes)
///     body: per record, payload length u32 and payload
///     "DPBE"                                                   (4 bytes)
///
/// all little-endian. Synced-through is the last revision the log knew
/// durable when it wrote the batch. Format 1 segments (records one after
/// another, each with its own length, CRC and revision) are still read.
///
/// **The rule for the first damaged batch** of a segment (its header or body
/// checksum wrong, its revisions not the next, or cut short) — the rule a
/// start and `diplanctl admin verify` both apply:
///
/// 1. If a whole batch after it records as durable (synced-through) a
///    revision at or past the damaged batch's first, the damaged one had
///    been synced: the damage is not a power cut's, and the start stops,
///    naming the file and offset.
/// 2. Otherwise, if the batch runs past the end of the file, or ends in
///    zeros that run to the end of the file, or a 512-byte sector's share of
///    it is all zeros, it is what a crash or power cut leaves of a write that
///    was never synced (a sector that did not reach the disk reads as the
///    zeros made ready; a write cut short leaves its start; the file's new
///    length may not have reached the disk): the batch and everything after
///    it are a **torn tail**, cut off at the next start. No answer was sent
///    for any of it: answers wait for the sync.
/// 3. Otherwise (every sector of it holds data, yet it does not check) the
///    start stops: neither a crash nor a power cut explains it.
///
/// A batch whose revisions do not follow the last one's is damage under the
/// same rule only when its header is itself unreadable; a readable header
/// with the wrong revisions is a gap, and stops the start.
public struct SegmentScan: Sendable {
    /// How a segment ends.
    public enum End: Sendable, Equatable {
        /// After its last whole record.
        case clean
        /// In a write that a crash or a power cut left unfinished: the bytes from `offset` on.
        case torn(offset: Int)
        /// In nothing but zeros from `offset` on: room made ready ahead of the
        /// records, or a header that never reached the disk.
        case zeros(offset: Int)
        /// In damage that a crash cannot explain.
        case corrupt(offset: Int, reason: String)
    }

    /// How records are laid out in a segment.
    public enum Format: Int, Sendable {
        /// Each record with its own length, CRC and revision (the log before batches).
        case records = 1
        /// Each write a checked batch of records.
        case batches = 2
    }

    public static let magic: [UInt8] = Array("DPWAL002".utf8)
    public static let recordsMagic: [UInt8] = Array("DPWAL001".utf8)
    public static let headerLength = 16
    /// Format 1: a record's length, CRC and revision.
    public static let recordHeaderLength = 16
    static let batchMagic: [UInt8] = Array("DPBT".utf8)
    static let batchEnd: [UInt8] = Array("DPBE".utf8)
    public static let batchHeaderLength = 40
    /// A batch's bytes besides its records' payloads and lengths.
    public static let batchOverhead = batchHeaderLength + 4
    /// The unit a power cut may lose: the smallest sector a disk writes whole.
    public static let sectorSize = 512

    public var path: String
    public var format: Format
    public var firstRevision: UInt64
    public var records: [LogRecord]
    /// Where each whole write ends (a batch; a record in format 1), with the last revision it holds.
    public var ends: [(offset: Int, revision: UInt64)] = []
    /// The offset after the last good record.
    public var goodEnd: Int
    public var end: End
    /// The file's length.
    public var length: Int
    /// Why a torn tail was judged torn, for the start's log.
    public var tornBecause: String?

    /// Reads a segment file and judges how it ends (see the type's rule).
    public static func read(
        _ path: String, fs: any FileSystem = PosixFileSystem(), keepPayloads: Bool = true
    ) throws(StorageError) -> SegmentScan {
        let bytes = try fs.readAll(path)
        let format: Format
        if bytes.count >= headerLength && Array(bytes[0..<8]) == magic {
            format = .batches
        } else if bytes.count >= headerLength && Array(bytes[0..<8]) == recordsMagic {
            format = .records
        } else {
            // A segment created but never written is empty: nothing to cut.
            if bytes.allSatisfy({ $0 == 0 }) {
                return SegmentScan(
                    path: path, format: .batches, firstRevision: 0, records: [], goodEnd: 0,
                    end: bytes.isEmpty ? .clean : .zeros(offset: 0), length: bytes.count)
            }
            return SegmentScan(
                path: path, format: .batches, firstRevision: 0, records: [], goodEnd: 0,
                end: .corrupt(offset: 0, reason: "not a diplan log segment"), length: bytes.count)
        }
        var scan = SegmentScan(
            path: path, format: format, firstRevision: LittleEndian.uint64(bytes, at: 8), records: [],
            goodEnd: headerLength, end: .clean, length: bytes.count)
        switch format {
        case .batches: scan.readBatches(bytes, keepPayloads: keepPayloads)
        case .records: scan.readRecords(bytes, keepPayloads: keepPayloads)
        }
        return scan
    }

    /// The last revision in the segment; firstRevision − 1 when it holds none.
    public var lastRevision: UInt64 { records.last?.revision ?? (firstRevision == 0 ? 0 : firstRevision - 1) }

    static func header(firstRevision: UInt64) -> [UInt8] {
        var bytes = magic
        LittleEndian.append(firstRevision, to: &bytes)
        return bytes
    }

    // MARK: - Batches (format 2)

    /// A batch as its header describes it.
    struct BatchHeader {
        var bodyLength: Int
        var first: UInt64
        var last: UInt64
        var syncedThrough: UInt64
        var bodyCRC: UInt32
        var end: Int
    }

    /// Appends one batch of `records` (consecutive revisions, at least one).
    static func appendBatch(_ records: ArraySlice<LogRecord>, syncedThrough: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        let bodyLength = records.reduce(0) { $0 + 4 + $1.payload.count }
        bytes.reserveCapacity(start + batchOverhead + bodyLength)
        bytes += batchMagic
        LittleEndian.append(UInt32(bodyLength), to: &bytes)
        LittleEndian.append(records.first!.revision, to: &bytes)
        LittleEndian.append(records.last!.revision, to: &bytes)
        LittleEndian.append(syncedThrough, to: &bytes)
        LittleEndian.append(UInt32(0), to: &bytes)
        LittleEndian.append(UInt32(0), to: &bytes)
        for record in records {
            LittleEndian.append(UInt32(record.payload.count), to: &bytes)
            bytes += record.payload
        }
        bytes += batchEnd
        let body = start + batchHeaderLength
        let bodyCRC = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[body..<(body + bodyLength)])) }
        put(bodyCRC, into: &bytes, at: start + 32)
        let headerCRC = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + 36)])) }
        put(headerCRC, into: &bytes, at: start + 36)
    }

    private static func put(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(index * 8)) }
    }

    /// The header at `offset` when it is whole and checks (its body unchecked).
    static func batchHeader(in raw: UnsafeRawBufferPointer, at offset: Int) -> BatchHeader? {
        guard offset + batchHeaderLength <= raw.count,
            raw[offset] == batchMagic[0], raw[offset + 1] == batchMagic[1], raw[offset + 2] == batchMagic[2],
            raw[offset + 3] == batchMagic[3]
        else { return nil }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + at, as: UInt64.self)) }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 36)])) == u32(36) else { return nil }
        let bodyLength = Int(u32(4))
        return BatchHeader(
            bodyLength: bodyLength, first: u64(8), last: u64(16), syncedThrough: u64(24), bodyCRC: u32(32),
            end: offset + batchOverhead + bodyLength)
    }

    /// The records of the batch that `header` describes at `offset`, or why it does not check.
    static func batchRecords(
        in raw: UnsafeRawBufferPointer, at offset: Int, _ header: BatchHeader, keepPayloads: Bool
    ) -> Result<[LogRecord], BatchDamage> {
        // Each record takes four bytes at least. The header checks: its writer wrote it so.
        guard header.last >= header.first, header.last - header.first < UInt64(header.bodyLength / 4) else {
            return .failure(.init("a batch header claims revisions \(header.first)–\(header.last)", checked: true))
        }
        guard header.end <= raw.count else { return .failure(.init("a batch runs past the end of the file")) }
        let body = offset + batchHeaderLength
        let bodyEnd = body + header.bodyLength
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[body..<bodyEnd])) == header.bodyCRC,
            raw[bodyEnd] == batchEnd[0], raw[bodyEnd + 1] == batchEnd[1], raw[bodyEnd + 2] == batchEnd[2],
            raw[bodyEnd + 3] == batchEnd[3]
        else {
            return .failure(.init("checksum mismatch in the batch of revisions \(header.first)–\(header.last)"))
        }
        var records: [LogRecord] = []
        records.reserveCapacity(Int(header.last - header.first + 1))
        var at = body
        var revision = header.first
        while at < bodyEnd {
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            guard at + 4 + length <= bodyEnd, revision <= header.last else { break }
            records.append(
                LogRecord(revision: revision, payload: keepPayloads ? Array(raw[(at + 4)..<(at + 4 + length)]) : []))
            at += 4 + length
            revision += 1
        }
        guard at == bodyEnd, revision == header.last + 1 else {
            // Its checksum holds, so its writer wrote it so: not a power cut's.
            return .failure(.init("the batch of revisions \(header.first)–\(header.last) holds other records", checked: true))
        }
        return .success(records)
    }

    struct BatchDamage: Error {
        var reason: String
        /// The batch's bytes check: it was written so, not torn.
        var checked = false
        init(_ reason: String, checked: Bool = false) {
            self.reason = reason
            self.checked = checked
        }
    }

    private mutating func readBatches(_ bytes: [UInt8], keepPayloads: Bool) {
        var expected = firstRevision
        var offset = Self.headerLength
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                if Self.isZero(raw, offset..<raw.count) {
                    end = .zeros(offset: offset)
                    return
                }
                let header = Self.batchHeader(in: raw, at: offset)
                if let header, header.first != expected {
                    end = .corrupt(
                        offset: offset,
                        reason: "a batch of revisions \(header.first)–\(header.last) where revision \(expected) was due")
                    return
                }
                let damage: BatchDamage
                if let header {
                    switch Self.batchRecords(in: raw, at: offset, header, keepPayloads: keepPayloads) {
                    case .success(let batch):
                        records += batch
                        offset = header.end
                        expected = header.last + 1
                        goodEnd = offset
                        ends.append((offset, header.last))
                        continue
                    case .failure(let failure): damage = failure
                    }
                } else {
                    damage = BatchDamage(
                        offset + Self.batchHeaderLength > raw.count ? "a batch header is cut short" : "an unreadable batch header"
                    )
                }
                end = Self.judge(
                    raw, damagedAt: offset, header: header, damage: damage, expected: expected, tornBecause: &tornBecause)
                return
            }
        }
    }

    /// The rule (see the type): torn, or corrupt.
    private static func judge(
        _ raw: UnsafeRawBufferPointer, damagedAt offset: Int, header: BatchHeader?, damage: BatchDamage, expected: UInt64,
        tornBecause: inout String?
    ) -> End {
        if let (at, later) = laterBatch(in: raw, after: offset, durableFrom: expected) {
            return .corrupt(
                offset: offset,
                reason:
                    "\(damage.reason); the whole batch at byte \(at) (revisions \(later.first)–\(later.last)) was written once revision \(later.syncedThrough) was durable"
            )
        }
        if damage.checked { return .corrupt(offset: offset, reason: damage.reason) }
        let claimedEnd = header?.end ?? (offset + batchHeaderLength)
        if claimedEnd > raw.count {
            tornBecause = "\(damage.reason): it runs past the end of the file"
            return .torn(offset: offset)
        }
        // A whole batch ends in its nonzero end marker.
        if isZero(raw, (claimedEnd - 1)..<raw.count) {
            tornBecause = "\(damage.reason): it ends in zeros that run to the end of the file (a write cut short)"
            return .torn(offset: offset)
        }
        var sector = offset / sectorSize * sectorSize
        while sector < claimedEnd {
            let share = max(sector, offset)..<min(sector + sectorSize, claimedEnd)
            if isZero(raw, share) {
                tornBecause = "\(damage.reason): its bytes \(share.lowerBound)–\(share.upperBound - 1) never reached the disk"
                return .torn(offset: offset)
            }
            sector += sectorSize
        }
        return .corrupt(offset: offset, reason: "\(damage.reason), and every sector of it holds data: not a power cut's")
    }

    /// The first whole batch after `offset` (looked for at every byte: only
    /// a scan that found damage calls this) written once a revision at or
    /// past `revision` was durable.
    static func laterBatch(
        in raw: UnsafeRawBufferPointer, after offset: Int, durableFrom revision: UInt64
    ) -> (Int, BatchHeader)? {
        var start = offset + 1
        while start + batchOverhead <= raw.count {
            defer { start += 1 }
            guard raw[start] == batchMagic[0], let header = batchHeader(in: raw, at: start),
                header.syncedThrough >= revision,
                case .success = batchRecords(in: raw, at: start, header, keepPayloads: false)
            else { continue }
            return (start, header)
        }
        return nil
    }

    static func isZero(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        // Eight bytes at a time where it can: the room made ready is a mebibyte of zeros.
        while index + 8 <= range.upperBound {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < range.upperBound {
            if raw[index] != 0 { return false }
            index += 1
        }
        return true
    }

    // MARK: - Records (format 1)

    /// Format 1: a damaged record is torn when nothing but it (or zeros)
    /// follows and no whole record comes after it; anything else is corruption.
    private mutating func readRecords(_ bytes: [UInt8], keepPayloads: Bool) {
        var offset = Self.headerLength
        var expected = firstRevision
        while offset < bytes.count {
            let rest = bytes.count - offset
            func damaged(_ reason: String, recordEnd: Int) -> End {
                if bytes[offset...].allSatisfy({ $0 == 0 }) { return .zeros(offset: offset) }
                // Torn when the damage runs to the end of the file (or only zeros follow)…
                let after = min(max(recordEnd, offset), bytes.count)
                guard bytes[after...].allSatisfy({ $0 == 0 }) else { return .corrupt(offset: offset, reason: reason) }
                // …and it is not a damaged length or header that merely claims so: whole records after it show that.
                if let next = Self.wholeRecord(in: bytes, after: offset, from: expected) {
                    return .corrupt(offset: offset, reason: "\(reason); a whole record of revision \(next) follows it")
                }
                return .torn(offset: offset)
            }
            guard rest >= Self.recordHeaderLength else {
                end = damaged("a record header is cut short", recordEnd: bytes.count)
                break
            }
            let length = Int(LittleEndian.uint32(bytes, at: offset))
            let crc = LittleEndian.uint32(bytes, at: offset + 4)
            let revision = LittleEndian.uint64(bytes, at: offset + 8)
            if length == 0 && crc == 0 && revision == 0 {
                end = damaged("a record of zeros", recordEnd: bytes.count)
                break
            }
            let recordEnd = offset + Self.recordHeaderLength + length
            guard recordEnd <= bytes.count else {
                end = damaged("a record runs past the end of the file", recordEnd: bytes.count)
                break
            }
            let actual = bytes.withUnsafeBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<recordEnd]))
            }
            guard actual == crc else {
                end = damaged("checksum mismatch in the record of revision \(revision)", recordEnd: recordEnd)
                break
            }
            guard revision == expected else {
                end = .corrupt(offset: offset, reason: "revision \(revision) where \(expected) was due")
                break
            }
            records.append(
                LogRecord(
                    revision: revision, payload: keepPayloads ? Array(bytes[(offset + Self.recordHeaderLength)..<recordEnd]) : [])
            )
            expected += 1
            offset = recordEnd
            goodEnd = offset
            ends.append((offset, revision))
        }
        if case .torn = end { tornBecause = "a record cut short" }
    }

    /// Format 1: the revision of the first whole record (of revision
    /// `expected` or later, its checksum right) that starts after `offset`,
    /// looked for at every byte: only a scan that found damage calls this.
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
}
