//! Prints the tree-sitter-elixir syntax tree of a file, for working on the scanner:
//! `cargo run -p snakebridge --example sexp -- lib/a.ex`.

#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a developer tool")]

fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_elixir::LANGUAGE.into())
        .unwrap();
    let tree = parser.parse(&src, None).unwrap();
    println!("{}", tree.root_node().to_sexp());
}
