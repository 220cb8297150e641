/// Node-name matching for control requests that carry `pattern` and
/// `matcher` (kombu's `kombu.matcher`): `glob` is Python's
/// `fnmatch.fnmatch(node, pattern)`, `pcre` is `re.match(pattern, node)`.
public enum NodeMatcher {
    /// Matches `name` against `pattern` with the named matcher; an unknown
    /// matcher matches nothing.
    public static func matches(_ name: String, pattern: String, matcher: String) -> Bool {
        switch matcher {
        case "glob": return glob(name, pattern: pattern)
        case "pcre": return pcre(name, pattern: pattern)
        default: return false
        }
    }

    /// Shell-style matching as Python's `fnmatch` (case-sensitive, as on
    /// POSIX): `*` any run of characters, `?` one character, `[abc]`,
    /// `[a-z]`, `[!abc]` a set (a `]` right after `[` or `[!` is part of
    /// the set); a `[` without a closing `]` is a literal `[`.
    public static func glob(_ name: String, pattern: String) -> Bool {
        let s = Array(name)
        let p = Array(pattern)
        var si = 0, pi = 0
        // Backtracking point: the last `*` seen and where its run started.
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    starP = pi
                    starS = si
                    pi += 1
                    continue
                case "?":
                    si += 1
                    pi += 1
                    continue
                case "[":
                    if let set = bracket(p, at: pi) {
                        if set.contains(s[si]) {
                            si += 1
                            pi = set.end
                            continue
                        }
                    } else if s[si] == "[" {
                        si += 1
                        pi += 1
                        continue
                    }
                default:
                    if p[pi] == s[si] {
                        si += 1
                        pi += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starS += 1
            si = starS
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// A parsed `[...]` set: its items and the index just past its `]`.
    struct Bracket {
        var negated: Bool
        var singles: [Character]
        var ranges: [(Character, Character)]
        var end: Int

        func contains(_ c: Character) -> Bool {
            let hit = singles.contains(c) || ranges.contains { $0.0 <= c && c <= $0.1 }
            return hit != negated
        }
    }

    /// Parses the set starting at `p[start] == "["`; nil when it has no
    /// closing `]` (then the `[` is literal).
    static func bracket(_ p: [Character], at start: Int) -> Bracket? {
        var j = start + 1
        var negated = false
        if j < p.count, p[j] == "!" {
            negated = true
            j += 1
        }
        let first = j
        if j < p.count, p[j] == "]" { j += 1 }
        while j < p.count, p[j] != "]" { j += 1 }
        guard j < p.count else { return nil }
        let body = Array(p[first..<j])
        var singles: [Character] = []
        var ranges: [(Character, Character)] = []
        var k = 0
        while k < body.count {
            if k + 2 < body.count, body[k + 1] == "-" {
                if body[k] <= body[k + 2] { ranges.append((body[k], body[k + 2])) }
                k += 3
            } else {
                singles.append(body[k])
                k += 1
            }
        }
        return Bracket(negated: negated, singles: singles, ranges: ranges, end: j + 1)
    }

    /// Python's `re.match(pattern, name)`: the regex must match a prefix of
    /// the name. Uses the standard library's `Regex` (its syntax accepts
    /// the PCRE/Python constructs node patterns use); a pattern that does
    /// not compile matches nothing.
    public static func pcre(_ name: String, pattern: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        // `try?` flattens: nil both for "no match" and for a match error.
        return (try? regex.prefixMatch(in: name)) != nil
    }
}
