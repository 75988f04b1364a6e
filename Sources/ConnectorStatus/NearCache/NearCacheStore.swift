import Foundation

/// The memory of a near cache (issue 14; design in `docs/near-cache-design.md` §5): values by
/// (line, key), in stripes chosen by line, each behind its own lock, bounded in entries and in
/// estimated bytes, evicting by CLOCK (an approximate LRU: a hit sets a bit, the hand clears it
/// and evicts entries found without it).
///
/// It proves nothing by itself: whoever serves reads from it decides whether a line is fresh, and
/// drops a line (``removeLine(_:)``) on any doubt. Every entry of a line is in one stripe, so
/// dropping a line takes one lock.
///
/// Thread safety: every mutable field lives in a ``Stripe`` and is touched only under that
/// stripe's lock (a pthread mutex, which ThreadSanitizer understands).
package final class NearCacheStore<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// What the store holds right now, summed over the stripes.
    package struct Usage: Sendable, Equatable {
        package var entries = 0
        package var bytes = 0
        package var lines = 0
    }

    private let stripes: [Stripe]
    private let stripeMask: Int

    /// - Parameters:
    ///   - maxEntries: entries at most, spread evenly over the stripes (each keeps at least 1).
    ///   - maxBytes: estimated bytes at most, spread the same way.
    ///   - stripeCount: rounded up to a power of two (64 by default: enough that tasks reading
    ///     different lines rarely meet on one lock).
    package init(maxEntries: Int, maxBytes: Int, stripeCount: Int = 64) {
        var count = 1
        while count < max(1, stripeCount) { count <<= 1 }
        stripeMask = count - 1
        let entriesPerStripe = max(1, maxEntries / count)
        let bytesPerStripe = max(1, maxBytes / count)
        stripes = (0..<count).map { _ in Stripe(maxEntries: entriesPerStripe, maxBytes: bytesPerStripe) }
    }

    /// The stripe of `line`: a multiply-shift hash, so neighbouring lines land apart.
    @inline(__always)
    private func stripe(_ line: Int64) -> Stripe {
        let mixed = UInt64(bitPattern: line) &* 0x9E37_79B9_7F4A_7C15
        return stripes[Int(truncatingIfNeeded: mixed >> 32) & stripeMask]
    }

    /// The value cached for `key` on `line`, marked as recently used; `nil` when absent.
    package func value(line: Int64, key: Key) -> Value? {
        stripe(line).value(line: line, key: key)
    }

    /// Caches `value` for `key` on `line`, replacing what was there, evicting what CLOCK chooses
    /// until the stripe is within its budgets. A value larger than a whole stripe's byte budget
    /// is not cached (and the old one is dropped).
    ///
    /// - Parameter bytes: the caller's estimate of what the entry costs in memory.
    package func insert(_ value: Value, line: Int64, key: Key, bytes: Int) {
        stripe(line).insert(value, line: line, key: key, bytes: max(1, bytes))
    }

    /// Drops the entry for `key` on `line`; `true` when there was one.
    @discardableResult
    package func remove(line: Int64, key: Key) -> Bool {
        stripe(line).remove(line: line, key: key)
    }

    /// Drops every entry of `line`; returns how many there were.
    @discardableResult
    package func removeLine(_ line: Int64) -> Int {
        stripe(line).removeLine(line)
    }

    /// Drops everything.
    package func removeAll() {
        for stripe in stripes { stripe.removeAll() }
    }

    /// Entries, estimated bytes and lines held now (takes every stripe's lock in turn).
    package var usage: Usage {
        stripes.reduce(into: Usage()) { total, stripe in
            let part = stripe.usage
            total.entries += part.entries
            total.bytes += part.bytes
            total.lines += part.lines
        }
    }

    /// Entries evicted to stay within the budgets since the store was made.
    package var evictions: Int {
        stripes.reduce(0) { $0 + $1.evictionCount }
    }

    /// One lock and what it guards: the slots (the CLOCK ring), the free slots, and the index
    /// from line and key to slot.
    private final class Stripe: @unchecked Sendable {
        struct Slot {
            var line: Int64
            var key: Key
            var value: Value
            var bytes: Int
            var referenced: Bool
        }

        private let lock = NSLock()
        private let maxEntries: Int
        private let maxBytes: Int
        private var slots: [Slot?] = []
        private var free: [Int] = []
        private var index: [Int64: [Key: Int]] = [:]
        private var hand = 0
        private var entries = 0
        private var bytes = 0
        private var evictions = 0

        init(maxEntries: Int, maxBytes: Int) {
            self.maxEntries = maxEntries
            self.maxBytes = maxBytes
        }

        func value(line: Int64, key: Key) -> Value? {
            lock.lock()
            defer { lock.unlock() }
            guard let position = index[line]?[key] else { return nil }
            slots[position]!.referenced = true
            return slots[position]!.value
        }

        func insert(_ value: Value, line: Int64, key: Key, bytes size: Int) {
            lock.lock()
            defer { lock.unlock() }
            if let position = index[line]?[key] { release(position) }
            guard size <= maxBytes else { return }
            while entries + 1 > maxEntries || bytes + size > maxBytes {
                guard evictOne() else { return }
            }
            let slot = Slot(line: line, key: key, value: value, bytes: size, referenced: false)
            let position: Int
            if let reused = free.popLast() {
                position = reused
                slots[position] = slot
            } else {
                position = slots.count
                slots.append(slot)
            }
            index[line, default: [:]][key] = position
            entries += 1
            bytes += size
        }

        func remove(line: Int64, key: Key) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            guard let position = index[line]?[key] else { return false }
            release(position)
            return true
        }

        func removeLine(_ line: Int64) -> Int {
            lock.lock()
            defer { lock.unlock() }
            guard let positions = index[line] else { return 0 }
            for position in positions.values { release(position) }
            return positions.count
        }

        func removeAll() {
            lock.lock()
            defer { lock.unlock() }
            slots = []
            free = []
            index = [:]
            hand = 0
            entries = 0
            bytes = 0
        }

        var usage: Usage {
            lock.lock()
            defer { lock.unlock() }
            return Usage(entries: entries, bytes: bytes, lines: index.count)
        }

        var evictionCount: Int {
            lock.lock()
            defer { lock.unlock() }
            return evictions
        }

        /// Empties the slot at `position` and unindexes it. Call with the lock held.
        private func release(_ position: Int) {
            guard let slot = slots[position] else { return }
            slots[position] = nil
            free.append(position)
            entries -= 1
            bytes -= slot.bytes
            index[slot.line]?[slot.key] = nil
            if index[slot.line]?.isEmpty == true { index[slot.line] = nil }
        }

        /// Moves the CLOCK hand until it evicts one entry (clearing the bits of recently used
        /// ones on the way); `false` when the stripe is empty. Call with the lock held.
        private func evictOne() -> Bool {
            guard entries > 0 else { return false }
            // Two turns at most: the first clears every bit, the second finds an entry without.
            for _ in 0..<(2 * slots.count) {
                if hand >= slots.count { hand = 0 }
                let position = hand
                hand += 1
                guard slots[position] != nil else { continue }
                if slots[position]!.referenced {
                    slots[position]!.referenced = false
                } else {
                    release(position)
                    evictions += 1
                    return true
                }
            }
            return false
        }
    }
}
