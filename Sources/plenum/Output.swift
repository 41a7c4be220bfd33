import Glibc

/// Writes a line to standard error.
func printError(_ text: String) {
    writeAll(text + "\n", to: STDERR_FILENO)
}

/// Writes `text` to standard output unbuffered, so a reader on a pipe sees each line at once.
func printOutput(_ text: String) {
    writeAll(text, to: STDOUT_FILENO)
}

private func writeAll(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            return
        }
        bytes = bytes.dropFirst(written)
    }
}
