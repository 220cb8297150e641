/// Renders blueprints as `celery graph bootsteps` does: a Graphviz DOT
/// digraph (one cluster per blueprint, a node per step), or a plain-text
/// table of the boot order.
///
/// Arrows follow Celery's `DependencyGraph.to_dot`: `A -> B` means **A
/// requires B** (A starts after B and stops before it). The graph is laid out
/// bottom-to-top (`rankdir=BT`) so that, read from the top, it is in boot
/// order: the steps nothing requires are at the top, the `last` steps at the
/// bottom. As in Celery's `Blueprint.connect_with`, the blueprints are joined
/// by one dashed arrow from the first step of a blueprint to the step of the
/// previous blueprint that runs it (the step named like it, e.g. the
/// worker's `Consumer`, else its last step).
///
/// Styles: built-in steps are green boxes, plugin steps blue rounded boxes
/// that also show their origin, `last` steps have a double border, excluded
/// steps (their include condition is false for these options) are dashed
/// and grey and say "(not included)".
public enum BlueprintGraph {
    public enum Format: String, CaseIterable, Sendable {
        case dot
        case text
    }

    /// The blueprints in the given format.
    public static func render(_ blueprints: [BlueprintDescription], format: Format) -> String {
        switch format {
        case .dot: dot(blueprints)
        case .text: text(blueprints)
        }
    }

    // MARK: DOT

    /// The node id of a step: unique across blueprints (`Worker:Pool`).
    static func nodeID(_ blueprint: BlueprintDescription, _ step: String) -> String {
        "\(blueprint.name):\(step)"
    }

    /// A DOT double-quoted string: backslashes and quotes escaped, newlines
    /// as Graphviz's centred line break `\n`.
    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": break
            default: out.append(c)
            }
        }
        return out + "\""
    }

    static func attributes(_ pairs: KeyValuePairs<String, String>) -> String {
        "[" + pairs.map { "\($0.key)=\(quote($0.value))" }.joined(separator: ", ") + "]"
    }

    static func isPlugin(_ step: StepDescription) -> Bool { step.origin != "built-in" }

    /// The whole graph as a DOT digraph (ends with a newline).
    public static func dot(_ blueprints: [BlueprintDescription]) -> String {
        let indent = "    "
        var lines: [String] = []
        lines.append("digraph bootsteps {")
        lines.append(indent + "graph " + attributes([
            "rankdir": "BT", "compound": "true", "bgcolor": "mintcream", "fontname": "Helvetica",
            "fontsize": "10", "labelloc": "b", "nodesep": "0.3",
            "label": "A -> B: A requires B (starts after B, stops before it)\n"
                + "green: built-in   blue: plugin   double border: last   dashed grey: not included",
        ]))
        lines.append(indent + "node " + attributes([
            "shape": "box", "style": "filled", "fontname": "Helvetica", "fontsize": "12",
            "fillcolor": "palegreen3", "color": "palegreen4",
        ]))
        lines.append(indent + "edge " + attributes([
            "color": "darkseagreen4", "arrowhead": "vee", "arrowsize": "0.7",
        ]))

        var edges: [String] = []
        for (index, blueprint) in blueprints.enumerated() {
            let known = Set(blueprint.steps.map(\.name))
            let included = blueprint.steps.filter(\.included).count
            lines.append("")
            lines.append(indent + "subgraph cluster_\(index) {")
            let inner = indent + indent
            lines.append(inner + "graph " + attributes([
                // "b" puts it at the top: rankdir=BT flips it.
                "label": "\(blueprint.name) blueprint", "labelloc": "b", "fontsize": "14", "style": "rounded",
                "color": "slategray4", "tooltip": "\(blueprint.name): \(blueprint.steps.count) steps, \(included) included",
            ]))
            var position = 0
            for step in blueprint.steps {
                if step.included { position += 1 }
                lines.append(inner + quote(nodeID(blueprint, step.name)) + " " + nodeAttributes(step, position: position))
            }
            // A require naming no step of the blueprint (describe() refuses
            // these, but a hand-made description may have one): drawn in red
            // so every edge still ends at a declared node.
            var missing: [String] = []
            for step in blueprint.steps {
                for r in step.requires where !known.contains(r) && !missing.contains(r) { missing.append(r) }
            }
            for r in missing {
                lines.append(inner + quote(nodeID(blueprint, r)) + " " + attributes([
                    "label": "\(r)\n(unknown step)", "style": "dashed", "color": "red", "fontcolor": "red",
                ]))
            }
            lines.append(indent + "}")

            for step in blueprint.steps {
                for r in step.requires {
                    let target = blueprint.steps.first { $0.name == r }
                    let faded = !step.included || !(target?.included ?? true)
                    var edge = indent + quote(nodeID(blueprint, step.name)) + " -> " + quote(nodeID(blueprint, r))
                    if target == nil {
                        edge += " " + attributes(["style": "dashed", "color": "red"])
                    } else if faded {
                        edge += " " + attributes(["style": "dashed", "color": "grey60"])
                    }
                    edges.append(edge)
                }
            }
            // Celery's connect_with: the blueprint is run by a step of the
            // previous one.
            if index > 0, let first = blueprint.steps.first {
                let previous = blueprints[index - 1]
                if let runner = previous.steps.first(where: { $0.name == blueprint.name }) ?? previous.steps.last {
                    edges.append(indent + quote(nodeID(blueprint, first.name)) + " -> " + quote(nodeID(previous, runner.name)) + " "
                                 + attributes(["ltail": "cluster_\(index)", "style": "dashed", "color": "slategray4",
                                               "label": "run by \(runner.name)", "fontsize": "10", "fontname": "Helvetica"]))
                }
            }
        }
        if !edges.isEmpty {
            lines.append("")
            lines.append(contentsOf: edges)
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func nodeAttributes(_ step: StepDescription, position: Int) -> String {
        let plugin = isPlugin(step)
        var label = step.name
        if plugin { label += "\n" + step.origin }
        if !step.included { label += "\n(not included)" }
        let requires = step.requires.isEmpty ? "nothing" : step.requires.joined(separator: ", ")
        let tooltip = (step.included ? "boot #\(position)" : "not included")
            + (step.last ? ", last" : "") + "; requires \(requires); \(step.origin)"
        var style = step.included ? "filled" : "dashed"
        if plugin { style += ",rounded" }
        var pairs: [(String, String)] = [("label", label), ("style", style), ("tooltip", tooltip)]
        if plugin && step.included {
            pairs += [("fillcolor", "lightskyblue"), ("color", "steelblue4")]
        }
        if !step.included {
            pairs += [("color", "grey60"), ("fontcolor", "grey45")]
        }
        if step.last { pairs.append(("peripheries", "2")) }
        return "[" + pairs.map { "\($0.0)=\(quote($0.1))" }.joined(separator: ", ") + "]"
    }

    // MARK: Text

    /// Each blueprint as a numbered table in boot order: included steps are
    /// numbered in the order they start, excluded ones are listed where they
    /// would be, with `-` and "(not included)". Ends with a newline.
    public static func text(_ blueprints: [BlueprintDescription]) -> String {
        var out: [String] = []
        for (index, blueprint) in blueprints.enumerated() {
            if index > 0 { out.append("") }
            let included = blueprint.steps.filter(\.included).count
            var heading = "\(blueprint.name) blueprint: \(blueprint.steps.count) step\(blueprint.steps.count == 1 ? "" : "s")"
            if included != blueprint.steps.count { heading += ", \(included) included" }
            heading += "; boot order (stopped in reverse)"
            if index > 0, let runner = blueprints[index - 1].steps.first(where: { $0.name == blueprint.name }) {
                heading += ", run by the \(blueprints[index - 1].name) step \(runner.name)"
            }
            out.append(heading + ":")

            var rows: [[String]] = [["#", "step", "requires", "origin"]]
            var position = 0
            for step in blueprint.steps {
                var number = "-"
                if step.included {
                    position += 1
                    number = "\(position)"
                }
                var origin = step.origin
                if step.last { origin += "  (last)" }
                if !step.included { origin += "  (not included)" }
                rows.append([number, step.name, step.requires.isEmpty ? "-" : step.requires.joined(separator: ", "), origin])
            }
            let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                var line = "  "
                line += String(repeating: " ", count: widths[0] - row[0].count) + row[0]
                for column in 1..<3 {
                    line += "  " + row[column] + String(repeating: " ", count: widths[column] - row[column].count)
                }
                line += "  " + row[3]
                out.append(line)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
