//! An emitter that misbehaves in the way its input's library name asks for. The host's
//! sandbox tests run it; it is never shipped.

use std::hint::black_box;

use snakebridge_pdk::emitter::{Emitter, ErrorDetail, File, PluginError, RenderInput};

struct Plugin;

#[allow(unconditional_recursion, reason = "overflowing the stack is the point")]
fn recurse(depth: u64) -> u64 {
    let local = [depth; 64];
    black_box(&local);
    recurse(black_box(depth + 1)) + local[0]
}

impl Emitter for Plugin {
    fn emit(input: RenderInput) -> Result<Vec<File>, PluginError> {
        let file = |path: &str, contents: String| {
            Ok(vec![File {
                path: path.into(),
                contents,
            }])
        };
        match input.library.name.as_str() {
            "loop" => loop {
                black_box(());
            },
            "memory" => {
                let mut hoard = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    black_box(&hoard);
                }
            }
            "stack" => file("x.ex", recurse(0).to_string()),
            "escape" => file("../escaped.ex", "x".into()),
            "absolute" => file("/tmp/snakebridge-absolute.ex", "x".into()),
            "hidden" => file(".hidden.ex", "x".into()),
            "huge" => file("huge.ex", "x".repeat(70 << 20)),
            "refuse" => Err(PluginError::Unsupported(ErrorDetail {
                message: "this library is not for me".into(),
                symbol: input.library.symbols.first().map(|s| s.id.clone()),
            })),
            "clock" => file("clock.ex", format!("{:?}", std::time::SystemTime::now())),
            "files" => file(
                "files.ex",
                std::fs::read_to_string("/etc/passwd").unwrap_or_else(|e| e.to_string()),
            ),
            _ => panic!("hostile plugin panics for `{}`", input.library.name),
        }
    }
}

snakebridge_pdk::export_emitter!(Plugin);
