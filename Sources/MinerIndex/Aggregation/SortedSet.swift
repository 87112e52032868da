/// A set kept in ascending order, with insertion and removal in O(log n + chunk) and the smallest elements read
/// in order from the front: what the fleet-health figures need for the logs not yet stale and "the first twenty
/// missing ids" without sorting the fleet on every tick.
///
/// Elements live in sorted chunks of at most `chunkCapacity` (a "sorted list of lists"): a change binary-searches
/// the chunk among the chunks' largest elements, kept side by side in one array so the search touches a few cache
/// lines rather than a few hundred chunk headers, then inserts or removes inside that one chunk, which moves at
/// most a few kilobytes. A balanced tree would do the same in O(log n) with a node allocation per element.
struct SortedSet<Element: Comparable & Sendable>: Sendable {
    private var chunks: [[Element]] = []
    /// `maxima[i]` is the last (largest) element of `chunks[i]`.
    private var maxima: [Element] = []
    private(set) var count = 0
    /// Small enough that moving half a chunk on a change stays cheap; the maxima keep the search short anyway.
    private static var chunkCapacity: Int { 64 }

    var isEmpty: Bool { count == 0 }

    var first: Element? { chunks.first?.first }

    /// Inserts `element` unless an equal one is held; returns whether it was inserted.
    @discardableResult
    mutating func insert(_ element: Element) -> Bool {
        guard !chunks.isEmpty else {
            chunks.append([element])
            maxima.append(element)
            count = 1
            return true
        }
        // The first chunk whose last element is not below `element`, or the last chunk if every one is.
        let chunkIndex = min(chunkIndex(for: element), chunks.count - 1)
        let position = chunks[chunkIndex].lowerBound(of: element)
        if position < chunks[chunkIndex].count, chunks[chunkIndex][position] == element { return false }
        chunks[chunkIndex].insert(element, at: position)
        if position == chunks[chunkIndex].count - 1 { maxima[chunkIndex] = element }
        count += 1
        if chunks[chunkIndex].count > Self.chunkCapacity {
            let upperHalf = Array(chunks[chunkIndex][(Self.chunkCapacity / 2)...])
            chunks[chunkIndex].removeLast(upperHalf.count)
            chunks.insert(upperHalf, at: chunkIndex + 1)
            if let lowerLast = chunks[chunkIndex].last { maxima[chunkIndex] = lowerLast }
            if let upperLast = upperHalf.last { maxima.insert(upperLast, at: chunkIndex + 1) }
        }
        return true
    }

    /// Removes the element equal to `element`; returns whether one was held.
    @discardableResult
    mutating func remove(_ element: Element) -> Bool {
        let chunkIndex = chunkIndex(for: element)
        guard chunkIndex < chunks.count else { return false }
        let position = chunks[chunkIndex].lowerBound(of: element)
        guard position < chunks[chunkIndex].count, chunks[chunkIndex][position] == element else { return false }
        chunks[chunkIndex].remove(at: position)
        count -= 1
        if let last = chunks[chunkIndex].last {
            maxima[chunkIndex] = last
        } else {
            chunks.remove(at: chunkIndex)
            maxima.remove(at: chunkIndex)
        }
        return true
    }

    /// Removes every element below `bound` and returns how many there were: whole chunks at a time, then the
    /// front of the chunk the bound falls in.
    mutating func removeAll(below bound: Element) -> Int {
        let firstKept = chunkIndex(for: bound)
        var removed = 0
        for chunk in chunks[..<firstKept] { removed += chunk.count }
        chunks.removeFirst(firstKept)
        maxima.removeFirst(firstKept)
        if let front = chunks.first {
            let position = front.lowerBound(of: bound)
            if position > 0 {
                chunks[0].removeFirst(position)
                removed += position
            }
        }
        count -= removed
        return removed
    }

    func contains(_ element: Element) -> Bool {
        let chunkIndex = chunkIndex(for: element)
        guard chunkIndex < chunks.count else { return false }
        let position = chunks[chunkIndex].lowerBound(of: element)
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
        maxima.lowerBound(of: element)
    }
}

extension Array where Element: Comparable {
    /// The first position whose element is not below `element` in this ascending array; `count` if there is none.
    func lowerBound(of element: Element) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < element {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
