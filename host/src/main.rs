fn main() -> std::process::ExitCode {
    snakebridge::main()
}
