import Foundation
import MinerIndex
import MinerIndexCommandLine
import MinerIndexService
import Testing

/// Each default is written once, on `ServiceConfiguration`; `--help` shows it, and the README's configuration table
/// must say the same.
@Suite struct ConfigurationDocsTests {
    struct Documented: Equatable {
        var environmentVariable: String
        var defaultText: String
    }

    /// `--flag` → what `--help` says of it.
    private func help() throws -> [String: Documented] {
        // An option's description may start on the line after its flag, and wrap; join each option's lines.
        var blocks: [String] = []
        for line in ServiceOptions.helpMessage(columns: 10_000).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("-") {
                blocks.append(text)
            } else if !blocks.isEmpty {
                blocks[blocks.count - 1] += " " + text
            }
        }
        let pattern = try Regex(#"^--([a-z-]+)\b.*\(default: (.*), env: (MINER_INDEX_[A-Z_]+)\)$"#)
        var options: [String: Documented] = [:]
        for block in blocks {
            guard let match = try pattern.firstMatch(in: block),
                let flag = match.output[1].substring, let value = match.output[2].substring,
                let variable = match.output[3].substring
            else { continue }
            options[String(flag)] = Documented(environmentVariable: String(variable), defaultText: String(value))
        }
        return options
    }

    /// `--flag` → the README's row, backticks removed.
    private func readme() throws -> [String: Documented] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        var rows: [String: Documented] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `--") {
            let cells = line.split(separator: "|").map {
                $0.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 3 else { continue }
            rows[String(cells[0].dropFirst(2))] = Documented(environmentVariable: cells[1], defaultText: cells[2])
        }
        return rows
    }

    @Test func theReadmeTableAndHelpGiveTheSameDefaultsAndVariables() throws {
        let help = try help(), readme = try readme()
        #expect(help.count >= 35, "every option shows its default and variable: \(help.keys.sorted())")
        #expect(Set(help.keys) == Set(readme.keys), "the README documents exactly the options miner-index has")
        for (flag, helped) in help {
            guard let row = readme[flag] else { continue }
            #expect(row.environmentVariable == helped.environmentVariable, "--\(flag)")
            // The README may add to a default ("`1s` (with a postgres:// state: …)"), and may write a duration
            // another way (`60s` for 1m), but it may not name another value.
            let readmeValue = String(row.defaultText.prefix { $0 != " " && $0 != ":" })
            if let helpedDuration = DurationText.parse(helped.defaultText) {
                #expect(DurationText.parse(readmeValue) == helpedDuration, "--\(flag): \(row.defaultText)")
            } else {
                #expect(
                    row.defaultText.hasPrefix(helped.defaultText),
                    "--\(flag): README \(row.defaultText), help \(helped.defaultText)")
            }
        }
    }

    /// What `--help` calls the default is the default: giving it explicitly changes nothing.
    @Test func eachDefaultShownIsTheOneInEffect() throws {
        func summary(_ environment: [String: String]) throws -> String {
            let configuration = try ServiceOptions.parse([]).resolve(environment: environment)
            return configuration.summary.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                separator: " ")
        }
        let implicit = try summary([:])
        var literal = 0
        for (flag, documented) in try help()
        where !documented.defaultText.contains(" ") && documented.defaultText != "none" {
            literal += 1
            #expect(try summary([documented.environmentVariable: documented.defaultText]) == implicit, "--\(flag)")
        }
        #expect(literal >= 30)
    }
}
