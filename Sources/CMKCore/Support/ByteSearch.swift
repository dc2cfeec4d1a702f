extension Array where Element == UInt8 {
    /// Whether `part` occurs in these bytes. For the start path, where `String.contains` would
    /// cost its searcher's first-use runtime lookups (docs/benchmarks.md) for a short search.
    package func containsRun(_ part: [UInt8]) -> Bool {
        guard !part.isEmpty else { return true }
        guard count >= part.count else { return false }
        for start in 0...(count - part.count) where self[start] == part[0] {
            if self[start..<(start + part.count)].elementsEqual(part) { return true }
        }
        return false
    }
}
