/// Collects benchmark rows and prints them as a Markdown table for docs/PERFORMANCE.md.
struct Report {
    private var rows: [(String, String, String)] = []

    mutating func add(_ measurement: String, _ value: String, _ note: String = "") {
        rows.append((measurement, value, note))
        print("\(measurement): \(value) \(note)")
    }

    func markdown() -> String {
        var lines = ["| measurement | median | note |", "|---|---|---|"]
        for (measurement, value, note) in rows { lines.append("| \(measurement) | \(value) | \(note) |") }
        return lines.joined(separator: "\n")
    }
}

func format(_ value: Double, digits: Int = 2) -> String {
    var text = String(value)
    if let dot = text.firstIndex(of: "."), !text.contains("e") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals > digits {
            let scale = (0..<digits).reduce(1.0) { value, _ in value * 10 }
            text = String((value * scale).rounded() / scale)
        }
    }
    return text
}

func microseconds(_ seconds: Double) -> String { format(seconds * 1e6, digits: 2) + " µs" }
func milliseconds(_ seconds: Double) -> String { format(seconds * 1e3, digits: 2) + " ms" }
func megabytes(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576, digits: 1) + " MiB" }
