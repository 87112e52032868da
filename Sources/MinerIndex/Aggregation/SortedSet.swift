/// A set kept in ascending order, with insertion and removal in O(log n + chunk) and the smallest elements read
/// in order from the front: what the fleet-health figures need for "the hottest five" and "the first twenty
/// missing ids" without sorting the fleet on every tick.
///
/// Elements live in sorted chunks of at most `chunkCapacity` (a "sorted list of lists"): a change binary-searches
/// the chunk by its last element, then inserts or removes inside that one chunk, which moves at most a few
/// kilobytes. A balanced tree would do the same in O(log n) with a node allocation per element; at 100k elements
/// the chunks are a few hundred arrays and stay in cache.
struct SortedSet<Element: Comparable & Sendable>: Sendable {
    private var chunks: [[Element]] = []
    private(set) var count = 0
    private static var chunkCapacity: Int { 256 }

    var isEmpty: Bool { count == 0 }

    var first: Element? { chunks.first?.first }

    /// Inserts `element` unless an equal one is held; returns whether it was inserted.
    @discardableResult
    mutating func insert(_ element: Element) -> Bool {
        guard !chunks.isEmpty else {
            chunks.append([element])
            count = 1
            return true
        }
        // The first chunk whose last element is not below `element`, or the last chunk if every one is.
        let chunkIndex = min(chunkIndex(for: element), chunks.count - 1)
        let position = Self.lowerBound(of: element, in: chunks[chunkIndex])
        if position < chunks[chunkIndex].count, chunks[chunkIndex][position] == element { return false }
        chunks[chunkIndex].insert(element, at: position)
        count += 1
        if chunks[chunkIndex].count > Self.chunkCapacity {
            let upperHalf = Array(chunks[chunkIndex][(Self.chunkCapacity / 2)...])
            chunks[chunkIndex].removeLast(upperHalf.count)
            chunks.insert(upperHalf, at: chunkIndex + 1)
        }
        return true
    }

    /// Removes the element equal to `element`; returns whether one was held.
    @discardableResult
    mutating func remove(_ element: Element) -> Bool {
        let chunkIndex = chunkIndex(for: element)
        guard chunkIndex < chunks.count else { return false }
        let position = Self.lowerBound(of: element, in: chunks[chunkIndex])
        guard position < chunks[chunkIndex].count, chunks[chunkIndex][position] == element else { return false }
        chunks[chunkIndex].remove(at: position)
        count -= 1
        if chunks[chunkIndex].isEmpty { chunks.remove(at: chunkIndex) }
        return true
    }

    func contains(_ element: Element) -> Bool {
        let chunkIndex = chunkIndex(for: element)
        guard chunkIndex < chunks.count else { return false }
        let position = Self.lowerBound(of: element, in: chunks[chunkIndex])
        return position < chunks[chunkIndex].count && chunks[chunkIndex][position] == element
    }

    /// The `maxLength` smallest elements, smallest first.
    func prefix(_ maxLength: Int) -> [Element] {
        var result: [Element] = []
        result.reserveCapacity(min(maxLength, count))
        for chunk in chunks {
            for element in chunk {
                if result.count == maxLength { return result }
                result.append(element)
            }
        }
        return result
    }

    /// Every element in order; for tests.
    var elements: [Element] { chunks.flatMap { $0 } }

    /// The first chunk whose last element is >= `element`; `chunks.count` if there is none.
    private func chunkIndex(for element: Element) -> Int {
        var low = 0, high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if let last = chunks[middle].last, last < element {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    private static func lowerBound(of element: Element, in chunk: [Element]) -> Int {
        var low = 0, high = chunk.count
        while low < high {
            let middle = (low + high) / 2
            if chunk[middle] < element {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
