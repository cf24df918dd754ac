fn main() {
    snakebridge::main()
}
