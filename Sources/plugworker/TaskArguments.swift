import ArgumentParser
import PlugworkerCore

/// The task and its arguments, as `apply` and `call` take them.
struct TaskArguments: ParsableArguments {
    @Argument(help: "The task name, e.g. arith.add.")
    var task: String

    @Argument(help: "Positional arguments, each JSON if it parses (2, 2.5, true, \"text\", [1, 2]), else a string.")
    var args: [String] = []

    @Option(help: "Keyword arguments as a JSON object.")
    var kwargs: String = "{}"

    func validate() throws {
        guard case .object? = try? JSON.parse(kwargs) else {
            throw ValidationError("--kwargs must be a JSON object, e.g. '{\"b\": 3}'")
        }
    }

    /// The positional arguments as one JSON array.
    var argsJSON: String { "[" + args.map(Self.jsonArgument).joined(separator: ", ") + "]" }

    /// An argument as JSON: itself if it parses, else a JSON string.
    static func jsonArgument(_ text: String) -> String {
        if (try? JSON.parse(text)) != nil { return text }
        return JSON.string(text).serialized
    }
}

extension TaskException {
    /// `ZeroDivisionError: …` for builtins, `module.Type: …` otherwise.
    var commandLine: String {
        "\(module == "builtins" ? "" : module + ".")\(type): \(message)"
    }
}
