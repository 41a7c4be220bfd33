import ArgumentParser
import PlenumCore

/// `plenum token`: make access tokens for hub.yaml's `auth:` section.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make access tokens for the auth: section of hub.yaml.",
        subcommands: [New.self]
    )

    /// `plenum token new NAME`: a fresh random token, printed once, and the lines to paste.
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a fresh random token (once) and the hub.yaml lines that grant it.",
            discussion: """
                The token itself is printed once and stored nowhere: give it to the client (a \
                dashboard, a control unit) and paste only the hash into hub.yaml under auth: tokens:. \
                Then reload the hub (systemctl reload plenum, or kill -HUP).
                """
        )

        @Argument(help: "The token's name (1-64 letters, digits, '-', '_', '.'); logged and written in the audit.")
        var name: String

        @Option(help: "A pattern the token may read (repeat for several). Default: /**.")
        var read: [String] = []

        @Option(help: "A pattern the token may write (repeat for several). Default: none.")
        var write: [String] = []

        @Flag(help: "Also grant GET /metrics from anywhere.")
        var metrics = false

        func validate() throws {
            let valid =
                !name.isEmpty && name.utf8.count <= 64 && name != "anonymous" && name != "." && name != ".."
                && name.utf8.allSatisfy { c in
                    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
                        || c == 0x5F || c == 0x2E
                }
            guard valid else {
                throw ValidationError("'\(name)' is not a valid token name; use 1-64 letters, digits, '-', '_' or '.'")
            }
            for pattern in read + write {
                do {
                    _ = try ChannelPattern(pattern)
                } catch {
                    throw ValidationError("'\(pattern)' is not a valid channel pattern: \(error)")
                }
            }
        }

        func run() throws {
            let secret: String
            do {
                secret = try TokenSecret.generate()
            } catch {
                printError("plenum token new: \(error)")
                throw ExitCode(1)
            }
            let hash = TokenHash(hashing: secret)
            let readList = (read.isEmpty ? ["/**"] : read).map { "\"\($0)\"" }.joined(separator: ", ")
            let writeList = write.map { "\"\($0)\"" }.joined(separator: ", ")
            var lines = [
                "Token for '\(name)' (shown only this once; give it to the client, keep it out of hub.yaml):",
                "",
                "  \(secret)",
                "",
                "Add to hub.yaml under auth: tokens:, then reload the hub (kill -HUP):",
                "",
                "    - name: \(name)",
                "      hash: \(hash)",
                "      read: [\(readList)]",
                "      write: [\(writeList)]",
            ]
            if metrics { lines.append("      metrics: true") }
            lines += [
                "",
                "Clients send it as 'Authorization: Bearer <token>', or from a browser as the WebSocket",
                "subprotocols ['plenum', 'plenum.bearer.<token>'] (docs/security.md).",
            ]
            printOutput(lines.joined(separator: "\n") + "\n")
        }
    }
}
