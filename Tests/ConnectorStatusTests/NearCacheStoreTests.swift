import Testing

@testable import ConnectorStatus

/// The near cache's memory on its own (no Redis): budgets, CLOCK eviction, dropping a line, and
/// many tasks at once.
@Suite("Near-cache store")
struct NearCacheStoreTests {
    @Test func valuesComeBackAndReplace() {
        let store = NearCacheStore<String, Int>(maxEntries: 100, maxBytes: 10_000, stripeCount: 4)
        #expect(store.value(line: 1, key: "a") == nil)
        store.insert(1, line: 1, key: "a", bytes: 10)
        store.insert(2, line: 2, key: "a", bytes: 10)
        #expect(store.value(line: 1, key: "a") == 1)
        #expect(store.value(line: 2, key: "a") == 2)
        store.insert(3, line: 1, key: "a", bytes: 30)
        #expect(store.value(line: 1, key: "a") == 3)
        #expect(store.usage == .init(entries: 2, bytes: 40, lines: 2))
        #expect(store.remove(line: 1, key: "a"))
        #expect(!store.remove(line: 1, key: "a"))
        #expect(store.usage == .init(entries: 1, bytes: 10, lines: 1))
    }

    @Test func removeLineDropsEveryEntryOfThatLineOnly() {
        let store = NearCacheStore<String, Int>(maxEntries: 1000, maxBytes: 1 << 20)
        for line in Int64(1)...20 {
            for key in 0..<5 { store.insert(key, line: line, key: "k\(key)", bytes: 8) }
        }
        #expect(store.removeLine(7) == 5)
        #expect(store.removeLine(7) == 0)
        for key in 0..<5 {
            #expect(store.value(line: 7, key: "k\(key)") == nil)
            #expect(store.value(line: 8, key: "k\(key)") == key)
        }
        #expect(store.usage == .init(entries: 95, bytes: 95 * 8, lines: 19))
        store.removeAll()
        #expect(store.usage == .init())
    }

    @Test func entryAndByteBudgetsHoldAndRecentlyUsedEntriesStay() {
        // One stripe, so that the budgets are exact.
        let store = NearCacheStore<Int, Int>(maxEntries: 10, maxBytes: 1000, stripeCount: 1)
        for key in 0..<10 { store.insert(key, line: 1, key: key, bytes: 10) }
        // Keys 0–4 are read (their bits set); inserting 5 more evicts the 5 unread ones.
        for key in 0..<5 { _ = store.value(line: 1, key: key) }
        for key in 10..<15 { store.insert(key, line: 1, key: key, bytes: 10) }
        #expect(store.usage.entries == 10)
        for key in 0..<5 { #expect(store.value(line: 1, key: key) == key, "recently used key \(key) was evicted") }
        for key in 5..<10 { #expect(store.value(line: 1, key: key) == nil, "unused key \(key) stayed") }
        #expect(store.evictions == 5)
        // The byte budget: one entry of 950 bytes pushes out what it must.
        store.insert(-1, line: 2, key: 99, bytes: 950)
        #expect(store.usage.bytes <= 1000)
        #expect(store.value(line: 2, key: 99) == -1)
        // Larger than the whole budget: not cached, and the old value of that key is gone too.
        store.insert(-2, line: 2, key: 99, bytes: 1001)
        #expect(store.value(line: 2, key: 99) == nil)
        #expect(store.usage.bytes <= 1000)
    }

    @Test func manyTasksReadWriteAndDropAtOnce() async {
        let store = NearCacheStore<Int, Int>(maxEntries: 2_000, maxBytes: 200_000)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for step in 0..<20_000 {
                        let line = Int64((step &* 31 &+ worker) % 200)
                        let key = step % 17
                        switch step % 10 {
                        case 0: store.insert(step, line: line, key: key, bytes: 64)
                        case 1: store.removeLine(line)
                        case 2: store.remove(line: line, key: key)
                        default: _ = store.value(line: line, key: key)
                        }
                    }
                }
            }
        }
        let usage = store.usage
        #expect(usage.entries <= 2_000)
        #expect(usage.bytes <= 200_000)
        #expect(usage.bytes == usage.entries * 64)
    }
}
