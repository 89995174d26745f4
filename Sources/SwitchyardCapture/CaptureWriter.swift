import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The capture writer thread's work: drains the ring through libpcap into files, applying the
/// filter, the rotation rules and the flush policy. Lives on that thread only.
final class CaptureWriter {
    private let configuration: CaptureConfiguration
    private let filter: PcapFilter?
    private var files: CaptureFileSet
    private var dumper: (any CaptureFileWriter)?
    private var fileOpenedAt = CaptureTimestamp.now()
    private var lastFlush = CaptureTimestamp.now()
    private var dirty = false
    private var statistics = CaptureStatistics()
    private let published: NIOLockedValueBox<CaptureStatistics>
    private let logger: Logger
    /// Endpoints alive now, and those seen during the current file (its manifest).
    private var liveEndpoints: [UInt32: RecordingManifest.Endpoint] = [:]
    private var fileEndpoints: [UInt32: RecordingManifest.Endpoint] = [:]
    private var endpointKinds: [UInt32: String] = [:]
    private var manifestDirty = false
    private var rules: [String]

    /// Compiles the filter and creates the first file, so that a bad filter or an unwritable
    /// path is reported before the fabric starts.
    init(configuration: CaptureConfiguration, published: NIOLockedValueBox<CaptureStatistics>, logger: Logger) throws(PcapError) {
        self.configuration = configuration
        self.published = published
        self.logger = logger
        self.filter = try configuration.filter.map { (expression: String) throws(PcapError) in
            try PcapFilter(expression: expression, snapshotLength: configuration.snapshotLength)
        }
        self.files = CaptureFileSet(configuration: configuration)
        self.rules = configuration.rules
        try self.openNextFile()
        self.publish()
    }

    /// Writes batches until the ring is finished, then flushes and closes.
    func run(draining ring: CaptureRing) {
        while var batches = ring.take() {
            for batch in batches {
                self.apply(batch.events)
                self.write(batch)
            }
            self.writeManifestIfChanged()
            ring.recycle(&batches)
            self.flushIfDue()
            self.publish()
        }
        self.writeManifestIfChanged()
        if let dumper = self.dumper {
            do {
                try dumper.close()
            } catch {
                self.loseUnflushedFrames()
                self.fail(error)
            }
            self.statistics.bytesWritten = self.closedBytes + dumper.flushedSize
            self.dumper = nil
        }
        self.publish()
    }

    /// Bytes of files already closed (the current file's are added from its size).
    private var closedBytes: Int64 = 0

    private func write(_ batch: CaptureBatch) {
        if self.filter == nil, !self.configuration.rotates, !self.configuration.packetBuffered, self.statistics.writeError == nil {
            if let pcap = self.dumper as? PcapDumper {
                self.writePlain(batch, to: pcap)
                return
            }
            if let pcapng = self.dumper as? PcapngWriter {
                self.writePlain(batch, to: pcapng)
                return
            }
        }
        batch.forEach { bytes, record in
            guard self.statistics.writeError == nil else {
                self.statistics.framesNotWritten += 1
                return
            }
            if let filter = self.filter, !filter.matches(bytes, originalLength: record.originalLength) {
                self.statistics.framesFiltered += 1
                return
            }
            let note = record.note >= 0 ? batch.note(of: record) : nil
            let noteLength = note?.utf8.count ?? 0
            do throws(PcapError) {
                try self.rotateIfDue(nextRecordSize: Int64(self.dumper?.recordLength(capturedLength: bytes.count, noteLength: noteLength) ?? 0))
                if self.dumper?.wouldSpill(capturedLength: bytes.count, noteLength: noteLength) == true {
                    try self.spill()
                }
                // Cannot spill now, so it cannot fail: bytes reach the file only in flush.
                try self.dumper?.write(bytes, record: record, note: note)
            } catch {
                self.statistics.framesNotWritten += 1
                self.fail(error)
                return
            }
            self.statistics.framesCaptured += 1
            self.dirty = true
            if self.configuration.packetBuffered {
                do throws(PcapError) {
                    try self.flush()
                } catch {
                    self.fail(error)
                }
            }
        }
    }

    /// The common case in one tight loop: no filter, no rotation and no flush per frame. The
    /// same steps as `write` (flush before a record would spill, then buffer it), without its
    /// per-record tests, and with direct calls to the file's writer (specialised per format).
    private func writePlain<Writer: CaptureFileWriter>(_ batch: CaptureBatch, to dumper: Writer) {
        var written: UInt64 = 0
        var failure: PcapError?
        batch.forEach { bytes, record in
            if failure != nil {
                self.statistics.framesNotWritten += 1
                return
            }
            // Most records have no note; passing a literal nil for them keeps the loop free of
            // string reference counting. Classic pcap has nowhere to put a note.
            if Writer.recordsNotes, record.note >= 0 {
                failure = self.writeRecord(bytes, record: record, note: batch.note(of: record), to: dumper, written: &written)
            } else {
                failure = self.writeRecord(bytes, record: record, note: nil, to: dumper, written: &written)
            }
        }
        self.statistics.framesCaptured += written
        if written > 0 {
            self.dirty = true
        }
        if let failure {
            self.fail(failure)
        }
    }

    /// One record of `writePlain`'s loop: flushes first if it would spill. Returns the error
    /// that stops writing, if any.
    @inline(__always)
    private func writeRecord<Writer: CaptureFileWriter>(
        _ bytes: UnsafeRawBufferPointer, record: CaptureBatch.Record, note: String?, to dumper: Writer, written: inout UInt64
    ) -> PcapError? {
        if dumper.wouldSpill(capturedLength: bytes.count, noteLength: note?.utf8.count ?? 0) {
            do throws(PcapError) {
                // Counts the frames buffered so far as captured (or, if this fails, lost).
                self.statistics.framesCaptured += written
                written = 0
                try self.spill()
            } catch {
                self.statistics.framesNotWritten += 1
                return error
            }
        }
        do throws(PcapError) {
            // Cannot spill now, so it does not fail; if it did, it counts as in `write`.
            try dumper.write(bytes, record: record, note: note)
        } catch {
            self.statistics.framesNotWritten += 1
            return error
        }
        written += 1
        return nil
    }

    /// The frames the failed flush or spill lost (the file's writer counts them: those since
    /// its last good write but for the records it kept) did not reach the file.
    private func loseUnflushedFrames() {
        let lost = min(self.statistics.framesCaptured, self.dumper?.framesLostAtFailure ?? 0)
        self.statistics.framesCaptured -= lost
        self.statistics.framesNotWritten += lost
    }

    private func rotateIfDue(nextRecordSize: Int64) throws(PcapError) {
        guard self.configuration.rotates, let dumper = self.dumper else { return }
        let hasRecords = dumper.hasRecords
        var due = false
        if let limit = self.configuration.fileSizeLimit, hasRecords, dumper.fileSize + nextRecordSize > limit {
            due = true
        }
        if let duration = self.configuration.fileDuration,
           Double(CaptureTimestamp.now().totalNanoseconds - self.fileOpenedAt.totalNanoseconds) / 1e9 >= duration {
            due = true
        }
        if due {
            self.writeManifestIfChanged()
            do {
                try dumper.close()
            } catch {
                self.loseUnflushedFrames()
                throw error
            }
            self.closedBytes += dumper.flushedSize
            self.dumper = nil
            try self.openNextFile()
        }
    }

    private func openNextFile() throws(PcapError) {
        let (path, expired) = self.files.next()
        // A new file's manifest (and pcapng section) starts with the endpoints alive when it opens.
        self.fileEndpoints = self.liveEndpoints
        switch self.configuration.format {
        case .pcap:
            self.dumper = try PcapDumper(path: path, snapshotLength: self.configuration.snapshotLength)
        case .pcapng:
            let endpoints = self.liveEndpoints.values.sorted { $0.id < $1.id }.map(self.captureEndpoint)
            self.dumper = try PcapngWriter(path: path, snapshotLength: self.configuration.snapshotLength, section: self.section, endpoints: endpoints)
        }
        self.manifestDirty = true
        self.fileOpenedAt = CaptureTimestamp.now()
        self.statistics.files += 1
        self.statistics.currentFile = path
        if let expired {
            unlink(expired)
            unlink(RecordingManifest.path(forCapture: expired))
        }
    }

    private func apply(_ events: [CaptureBatch.EndpointEvent]) {
        for event in events {
            switch event {
            case .created(let endpoint, let kind):
                self.liveEndpoints[endpoint.id] = endpoint
                self.fileEndpoints[endpoint.id] = endpoint
                self.endpointKinds[endpoint.id] = kind
                self.dumper?.endpointAppeared(self.captureEndpoint(endpoint))
            case .closed(let id, let time):
                self.liveEndpoints[id] = nil
                self.fileEndpoints[id]?.closedNanoseconds = time
            case .rulesChanged(let rules):
                self.rules = rules
            case .ruleAdded(let rule):
                self.rules.append(rule)
            }
            self.manifestDirty = true
        }
    }

    private func captureEndpoint(_ endpoint: RecordingManifest.Endpoint) -> CaptureEndpoint {
        CaptureEndpoint(id: endpoint.id, name: endpoint.name, mac: endpoint.mac, kind: self.endpointKinds[endpoint.id] ?? "")
    }

    /// The pcapng section header: who wrote the file, on what, and the seed and rules in force.
    private var section: PcapngWriter.Section {
        var comment = "switchyard fabric recording; seed \(self.configuration.seed)"
        comment += self.rules.isEmpty ? "; no rules" : "; rules: " + self.rules.joined(separator: "; ")
        return .thisMachine(application: self.configuration.application, comment: comment)
    }

    /// Rewrites the current file's manifest after endpoint changes (rare), so that even a
    /// killed daemon leaves a manifest that matches its last flush closely.
    private func writeManifestIfChanged() {
        // Only beside a regular file: not for stdout, a pipe or a device such as /dev/full.
        guard self.manifestDirty, let dumper = self.dumper, dumper.isRegularFile else { return }
        let path = dumper.path
        self.manifestDirty = false
        let name = URL(fileURLWithPath: path).lastPathComponent
        let manifest = RecordingManifest(
            capture: name, endpoints: self.fileEndpoints.values.sorted { $0.id < $1.id },
            seed: self.configuration.seed, rules: self.rules
        )
        do {
            try manifest.write(path: RecordingManifest.path(forCapture: path))
        } catch {
            self.logger.warning("\(error.message)")
        }
    }

    private func flushIfDue() {
        guard self.dirty else { return }
        let now = CaptureTimestamp.now()
        if Double(now.totalNanoseconds - self.lastFlush.totalNanoseconds) / 1e9 >= CaptureConfiguration.flushInterval {
            do {
                try self.flush()
            } catch {
                self.fail(error)
            }
        }
    }

    private func flush() throws(PcapError) {
        self.lastFlush = CaptureTimestamp.now()
        self.dirty = false
        do {
            try self.dumper?.flush()
        } catch {
            self.loseUnflushedFrames()
            throw error
        }
    }

    /// Makes room in the file's buffer before a record that would not fit; the records reach the
    /// file by the next flush at the latest (`dirty` stays set for it).
    private func spill() throws(PcapError) {
        do {
            try self.dumper?.spill()
        } catch {
            self.loseUnflushedFrames()
            throw error
        }
    }

    /// The first write error stops writing; it is logged once and reported in the summary.
    private func fail(_ error: PcapError) {
        guard self.statistics.writeError == nil else { return }
        self.statistics.writeError = error.message
        self.logger.error("capture stopped: \(error.message); switching goes on, frames are counted as not written")
    }

    private func publish() {
        if let dumper = self.dumper {
            // What reached the file or pipe, counted by us: `ftell` is a syscall and says -1
            // for a pipe.
            self.statistics.bytesWritten = self.closedBytes + dumper.flushedSize
        }
        let snapshot = self.statistics
        self.published.withLockedValue { published in
            let dropped = published.framesDroppedByBuffer
            published = snapshot
            published.framesDroppedByBuffer = dropped
        }
    }
}
