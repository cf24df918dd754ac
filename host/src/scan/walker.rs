//! One recursive walk over a tree-sitter-elixir tree, in document order, that follows Elixir's
//! lexical rules for `alias`, `require ..., as:` and `import`, and records every call into a
//! target module with its call-site arity.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::kernel::{ANY_ARITY, EXUNIT, KERNEL};
use crate::model::CallKind;

/// The Elixir modules of the configured libraries; a call matches when its module is one of
/// them or nested inside one.
pub(crate) struct Targets {
    modules: Vec<String>,
}

impl Targets {
    pub(crate) fn new(modules: impl IntoIterator<Item = String>) -> Self {
        Self {
            modules: modules.into_iter().collect(),
        }
    }

    fn matches(&self, module: &str) -> bool {
        self.modules.iter().any(|target| {
            module == target
                || module
                    .strip_prefix(target.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

/// A call found in one file; the caller adds the file name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FoundCall {
    pub(crate) module: String,
    pub(crate) function: String,
    pub(crate) arity: u32,
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) kind: CallKind,
}

/// Where a syntax error starts: 1-based line and character column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

#[derive(Default)]
struct Frame {
    /// `(short, full)`, latest last.
    aliases: Vec<(String, String)>,
    imports: Vec<Import>,
    exunit: bool,
}

struct Import {
    module: String,
    filter: ImportFilter,
}

enum ImportFilter {
    /// `only: [f: n]`: exactly these.
    Only(Vec<(String, u32)>),
    /// No `only:`, `only: :functions`, or `except:`: everything not excluded.
    Except(Vec<(String, u32)>),
}

struct ModuleContext {
    name: String,
    locals: BTreeSet<(String, u32)>,
}

/// How a call was reached, which decides its kind and any extra argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Direct,
    Pipe,
}

/// Attributes that hold types, where `Numpy.t()` is a type, not a call.
const TYPE_ATTRIBUTES: &[&str] = &[
    "spec",
    "type",
    "typep",
    "opaque",
    "callback",
    "macrocallback",
];

const DEFINITIONS: &[&str] = &[
    "def",
    "defp",
    "defmacro",
    "defmacrop",
    "defguard",
    "defguardp",
    "defn",
    "defnp",
];

const SCOPES: &[&str] = &[
    "do_block",
    "anonymous_function",
    "stab_clause",
    "after_block",
    "else_block",
    "rescue_block",
    "catch_block",
];

/// How deep the walk goes into the tree before it skips a subtree (with a warning naming where):
/// it recurses on the native stack, which the scanner's threads size for this depth (see
/// `scan::STACK_SIZE`). A level of source nesting is about four levels of tree, so this is
/// about the 10,000 levels Elixir's own parser takes; every other file's calls are reported.
pub(crate) const MAX_DEPTH: usize = 40_000;

pub(crate) struct Walker<'a> {
    src: &'a str,
    targets: &'a Targets,
    frames: Vec<Frame>,
    modules: Vec<ModuleContext>,
    calls: Vec<FoundCall>,
    depth: usize,
    /// Where the first subtree past [`MAX_DEPTH`] starts.
    pub(crate) too_deep: Option<Position>,
    /// The last position computed: columns of later calls on the same line are counted from
    /// it, so a long line costs its length once, not once per call.
    last: Option<(usize, Position)>,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(src: &'a str, targets: &'a Targets) -> Self {
        Self {
            src,
            targets,
            frames: vec![Frame::default()],
            modules: Vec::new(),
            calls: Vec::new(),
            depth: 0,
            too_deep: None,
            last: None,
        }
    }

    /// The calls, sorted, and where a subtree too deep to walk starts, if one does.
    pub(crate) fn run(mut self, root: Node<'_>) -> (Vec<FoundCall>, Option<Position>) {
        self.visit(root);
        self.calls.sort();
        self.calls.dedup();
        (self.calls, self.too_deep)
    }

    fn text(&self, node: Node<'_>) -> &'a str {
        &self.src[node.byte_range()]
    }

    pub(crate) fn position(src: &str, node: Node<'_>) -> Position {
        let start = node.start_byte();
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: node.start_position().row as u32 + 1,
            column: src[line_start..start].chars().count() as u32 + 1,
        }
    }

    /// [`Walker::position`], counting characters from the last position computed when it is
    /// on the same line.
    fn position_near(&mut self, node: Node<'_>) -> Position {
        let start = node.start_byte();
        let line = node.start_position().row as u32 + 1;
        let line_start = start - node.start_position().column;
        let column = match self.last {
            Some((at, last)) if last.line == line && at <= start => {
                last.column + self.src[at..start].chars().count() as u32
            }
            Some((at, last)) if last.line == line => {
                last.column - self.src[start..at].chars().count() as u32
            }
            _ => self.src[line_start..start].chars().count() as u32 + 1,
        };
        let position = Position { line, column };
        self.last = Some((start, position));
        position
    }

    fn record(&mut self, module: String, function: &str, arity: u32, at: Node<'_>, kind: CallKind) {
        let Position { line, column } = self.position_near(at);
        self.calls.push(FoundCall {
            module,
            function: function.to_string(),
            arity,
            line,
            column,
            kind,
        });
    }

    fn visit(&mut self, node: Node<'_>) {
        if self.depth >= MAX_DEPTH {
            if self.too_deep.is_none() {
                self.too_deep = Some(Self::position(self.src, node));
            }
            return;
        }
        self.depth += 1;
        self.dispatch(node);
        self.depth -= 1;
    }

    fn dispatch(&mut self, node: Node<'_>) {
        match node.kind() {
            "call" => self.call(node, Via::Direct),
            "binary_operator" => self.binary_operator(node),
            "unary_operator" => self.unary_operator(node),
            "comment" => {}
            kind if SCOPES.contains(&kind) => self.scoped(|walker| walker.visit_children(node)),
            _ => self.visit_children(node),
        }
    }

    fn visit_children(&mut self, node: Node<'_>) {
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        for child in children {
            self.visit(child);
        }
    }

    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        self.frames.push(Frame::default());
        f(self);
        self.frames.pop();
    }

    fn frame(&mut self) -> &mut Frame {
        // The root frame is never popped.
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    /// The first *named* child of a field. The grammar also tags punctuation with some fields
    /// (`&(expr)` tags `(`, the expression and `)` as `operand`), so the first child alone is
    /// not enough.
    fn field<'t>(node: Node<'t>, name: &str) -> Option<Node<'t>> {
        let mut cursor = node.walk();
        node.children_by_field_name(name, &mut cursor)
            .find(|child| child.is_named())
    }

    fn child_of_kind<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
        let mut cursor = node.walk();
        node.named_children(&mut cursor)
            .find(|child| child.kind() == kind)
    }

    fn arguments<'t>(node: Node<'t>) -> Vec<Node<'t>> {
        let Some(arguments) = Self::child_of_kind(node, "arguments") else {
            return Vec::new();
        };
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|child| child.kind() != "comment")
            .collect()
    }

    fn arity(node: Node<'_>) -> u32 {
        Self::arguments(node).len() as u32
            + u32::from(Self::child_of_kind(node, "do_block").is_some())
    }

    /// Keyword pairs of a `keywords` node: `("as", value)`.
    fn keywords<'t>(&self, node: Node<'t>) -> Vec<(&'a str, Node<'t>)> {
        let mut cursor = node.walk();
        node.named_children(&mut cursor)
            .filter(|pair| pair.kind() == "pair")
            .filter_map(|pair| {
                let key = Self::field(pair, "key")?;
                let value = Self::field(pair, "value")?;
                let key = self
                    .text(key)
                    .trim_end()
                    .trim_end_matches(':')
                    .trim_matches('"');
                Some((key, value))
            })
            .collect()
    }

    fn keyword<'t>(&self, args: &[Node<'t>], key: &str) -> Option<Node<'t>> {
        args.iter()
            .filter(|arg| arg.kind() == "keywords")
            .flat_map(|arg| self.keywords(*arg))
            .find_map(|(k, value)| (k == key).then_some(value))
    }

    fn expand_alias(&self, written: &str) -> String {
        if let Some(rest) = written.strip_prefix("Elixir.") {
            return rest.to_string();
        }
        let (first, rest) = written
            .split_once('.')
            .map_or((written, None), |(f, r)| (f, Some(r)));
        let expanded = self
            .frames
            .iter()
            .rev()
            .find_map(|frame| frame.aliases.iter().rev().find(|(short, _)| short == first))
            .map_or(first, |(_, full)| full.as_str());
        match rest {
            Some(rest) => format!("{expanded}.{rest}"),
            None => expanded.to_string(),
        }
    }

    /// The module an expression names, when it names one statically.
    fn module_of(&self, node: Node<'_>) -> Option<String> {
        match node.kind() {
            "alias" => Some(self.expand_alias(self.text(node))),
            "identifier" if self.text(node) == "__MODULE__" => {
                self.modules.last().map(|m| m.name.clone())
            }
            "dot" => {
                let left = Self::field(node, "left")?;
                let right = Self::field(node, "right")?;
                (right.kind() == "alias")
                    .then(|| Some(format!("{}.{}", self.module_of(left)?, self.text(right))))
                    .flatten()
            }
            _ => None,
        }
    }

    fn call(&mut self, node: Node<'_>, via: Via) {
        let Some(target) = Self::field(node, "target") else {
            return self.visit_children(node);
        };
        match target.kind() {
            "dot" => self.remote_call(node, target, via),
            "identifier" => {
                let name = self.text(target);
                match name {
                    "alias" | "require" | "import" | "use" if via == Via::Direct => {
                        self.directive(node, name)
                    }
                    "defmodule" if via == Via::Direct => self.defmodule(node),
                    "defdelegate" if via == Via::Direct => self.defdelegate(node),
                    _ if DEFINITIONS.contains(&name) && via == Via::Direct => self.definition(node),
                    "apply" if via == Via::Direct && self.literal_apply(node) => {}
                    _ => {
                        let arity = Self::arity(node) + u32::from(via == Via::Pipe);
                        self.unqualified(name, arity, target);
                        self.visit_arguments(node);
                    }
                }
            }
            _ => self.visit_children(node),
        }
    }

    fn visit_arguments(&mut self, node: Node<'_>) {
        for arg in Self::arguments(node) {
            self.visit(arg);
        }
        if let Some(block) = Self::child_of_kind(node, "do_block") {
            self.visit(block);
        }
    }

    fn remote_call(&mut self, node: Node<'_>, dot: Node<'_>, via: Via) {
        let (Some(left), Some(right)) = (Self::field(dot, "left"), Self::field(dot, "right"))
        else {
            return self.visit_children(node);
        };
        let function = match right.kind() {
            "identifier" | "operator_identifier" => Some(self.text(right)),
            "string" => Some(self.text(right).trim_matches('"')),
            _ => None,
        };
        match (function, self.module_of(left)) {
            (Some(function), Some(module)) => {
                if self.targets.matches(&module) {
                    let arity = Self::arity(node) + u32::from(via == Via::Pipe);
                    let kind = if via == Via::Pipe {
                        CallKind::Pipe
                    } else {
                        CallKind::Remote
                    };
                    self.record(module, function, arity, right, kind);
                }
            }
            _ => self.visit(left),
        }
        self.visit_arguments(node);
    }

    /// An unqualified call: attributed to an imported library module unless it is local, a
    /// Kernel function or special form, or excluded.
    fn unqualified(&mut self, name: &str, arity: u32, at: Node<'_>) {
        if self
            .modules
            .last()
            .is_some_and(|m| m.locals.contains(&(name.to_string(), arity)))
        {
            return;
        }
        let builtin = KERNEL.contains(&(name, arity))
            || ANY_ARITY.contains(&name)
            || (self.frames.iter().any(|f| f.exunit) && EXUNIT.contains(&(name, arity)));
        let mut modules = Vec::new();
        for frame in self.frames.iter().rev() {
            for import in frame.imports.iter().rev() {
                if !self.targets.matches(&import.module) || modules.contains(&import.module) {
                    continue;
                }
                let pair = (name.to_string(), arity);
                let attributed = match &import.filter {
                    ImportFilter::Only(only) => only.contains(&pair),
                    ImportFilter::Except(except) => !builtin && !except.contains(&pair),
                };
                if attributed {
                    modules.push(import.module.clone());
                }
            }
        }
        for module in modules {
            self.record(module, name, arity, at, CallKind::Import);
        }
    }

    fn binary_operator(&mut self, node: Node<'_>) {
        let operator = Self::operator(node);
        let (Some(left), Some(right)) = (Self::field(node, "left"), Self::field(node, "right"))
        else {
            return self.visit_children(node);
        };
        if operator == "|>" {
            self.visit(left);
            match right.kind() {
                "call" => self.call(right, Via::Pipe),
                "identifier" => {
                    let name = self.text(right);
                    self.unqualified(name, 1, right);
                }
                _ => self.visit(right),
            }
        } else {
            self.visit(left);
            self.visit(right);
        }
    }

    fn operator<'t>(node: Node<'t>) -> String {
        let mut cursor = node.walk();
        node.children_by_field_name("operator", &mut cursor)
            .next()
            .map(|op| op.kind().to_string())
            .unwrap_or_default()
    }

    fn unary_operator(&mut self, node: Node<'_>) {
        let Some(operand) = Self::field(node, "operand") else {
            return self.visit_children(node);
        };
        match Self::operator(node).as_str() {
            "&" => self.capture(operand),
            // `@doc "..."`, `@pi 3.14`: the attribute's name is not a call, its value may hold
            // some; `@pi` reads one; a typespec attribute holds only types.
            "@" => match operand.kind() {
                "call" => {
                    let attribute = Self::field(operand, "target")
                        .filter(|t| t.kind() == "identifier")
                        .map(|t| self.text(t));
                    match attribute {
                        Some(name) if TYPE_ATTRIBUTES.contains(&name) => {}
                        Some(_) => self.visit_arguments(operand),
                        None => self.visit(operand),
                    }
                }
                "identifier" => {}
                _ => self.visit(operand),
            },
            _ => self.visit(operand),
        }
    }

    /// `&Numpy.mean/1` and `&mean/1`; any other capture is an ordinary expression.
    fn capture(&mut self, operand: Node<'_>) {
        if operand.kind() == "binary_operator" && Self::operator(operand) == "/" {
            let left = Self::field(operand, "left");
            let arity = Self::field(operand, "right")
                .filter(|right| right.kind() == "integer")
                .and_then(|right| self.text(right).replace('_', "").parse::<u32>().ok());
            if let (Some(left), Some(arity)) = (left, arity) {
                match left.kind() {
                    "call" if Self::child_of_kind(left, "arguments").is_none() => {
                        if let Some(dot) = Self::field(left, "target").filter(|t| t.kind() == "dot")
                        {
                            let right = Self::field(dot, "right");
                            let module = Self::field(dot, "left").and_then(|l| self.module_of(l));
                            if let (Some(right), Some(module)) = (right, module) {
                                if self.targets.matches(&module) {
                                    let function = self.text(right);
                                    self.record(module, function, arity, right, CallKind::Capture);
                                }
                                return;
                            }
                        }
                    }
                    "identifier" => {
                        let name = self.text(left);
                        return self.unqualified(name, arity, left);
                    }
                    _ => {}
                }
            }
        }
        self.visit(operand);
    }

    fn directive(&mut self, node: Node<'_>, name: &str) {
        let args = Self::arguments(node);
        let Some(first) = args.first().copied() else {
            return;
        };
        match name {
            "alias" | "require" => {
                let as_name = self
                    .keyword(&args, "as")
                    .map(|value| self.text(value).to_string());
                if first.kind() == "dot"
                    && Self::field(first, "right").is_some_and(|r| r.kind() == "tuple")
                {
                    // `alias Numpy.{Linalg, FFT}`
                    let base = Self::field(first, "left").and_then(|left| self.module_of(left));
                    let tuple = Self::field(first, "right");
                    if let (Some(base), Some(tuple), "alias") = (base, tuple, name) {
                        let mut cursor = tuple.walk();
                        let members: Vec<String> = tuple
                            .named_children(&mut cursor)
                            .filter(|member| member.kind() == "alias")
                            .map(|member| self.text(member).to_string())
                            .collect();
                        for member in members {
                            let short = member.rsplit('.').next().unwrap_or(&member).to_string();
                            self.frame()
                                .aliases
                                .push((short, format!("{base}.{member}")));
                        }
                    }
                    return;
                }
                let Some(full) = self.module_of(first) else {
                    return self.visit_arguments(node);
                };
                let short = match (name, as_name) {
                    (_, Some(as_name)) => as_name,
                    ("alias", None) => full.rsplit('.').next().unwrap_or(&full).to_string(),
                    _ => return,
                };
                self.frame().aliases.push((short, full));
            }
            "import" => {
                let Some(module) = self.module_of(first) else {
                    return self.visit_arguments(node);
                };
                let filter = if let Some(only) = self.keyword(&args, "only") {
                    match (only.kind(), self.text(only)) {
                        ("list", _) => ImportFilter::Only(self.name_arity_list(only)),
                        (_, ":functions") => ImportFilter::Except(Vec::new()),
                        // `:macros` and `:sigils` import no functions.
                        _ => ImportFilter::Only(Vec::new()),
                    }
                } else if let Some(except) = self.keyword(&args, "except") {
                    ImportFilter::Except(self.name_arity_list(except))
                } else {
                    ImportFilter::Except(Vec::new())
                };
                let frame = self.frame();
                frame.imports.retain(|import| import.module != module);
                frame.imports.push(Import { module, filter });
            }
            _ => {
                if self.module_of(first).as_deref() == Some("ExUnit.Case") {
                    self.frame().exunit = true;
                }
                self.visit_arguments(node);
            }
        }
    }

    /// `[mean: 1, std: 2]`.
    fn name_arity_list(&self, list: Node<'_>) -> Vec<(String, u32)> {
        let mut cursor = list.walk();
        let keywords: Vec<Node<'_>> = list
            .named_children(&mut cursor)
            .filter(|child| child.kind() == "keywords")
            .collect();
        keywords
            .into_iter()
            .flat_map(|keywords| self.keywords(keywords))
            .filter_map(|(name, value)| {
                let arity = self.text(value).replace('_', "").parse().ok()?;
                Some((name.to_string(), arity))
            })
            .collect()
    }

    fn defmodule(&mut self, node: Node<'_>) {
        let args = Self::arguments(node);
        let Some(name_node) = args.first().copied() else {
            return self.visit_children(node);
        };
        let written = self.text(name_node);
        let name = match (name_node.kind(), self.modules.last()) {
            ("alias", Some(outer)) if !written.starts_with("Elixir.") => {
                // `defmodule Inner` inside `Outer` is `Outer.Inner`, and defines the alias
                // `Inner` in the enclosing scope.
                let first = written.split('.').next().unwrap_or(written).to_string();
                let full_first = format!("{}.{first}", outer.name);
                let name = format!("{}.{written}", outer.name);
                self.frame().aliases.push((first, full_first));
                name
            }
            _ => match self.module_of(name_node) {
                Some(name) => name,
                None => return self.visit_children(node),
            },
        };
        let body = Self::child_of_kind(node, "do_block").or_else(|| self.keyword(&args, "do"));
        let locals = body
            .map(|body| self.local_definitions(body))
            .unwrap_or_default();
        self.modules.push(ModuleContext { name, locals });
        self.scoped(|walker| {
            if let Some(body) = body {
                walker.visit_children(body);
            }
        });
        self.modules.pop();
    }

    /// Names and arities a module body defines, defaults expanded: at its top level, and
    /// inside the do-blocks of other macros there (`describe "..." do def ... end`, `if`,
    /// `quote`), but not inside a nested module or a function. Walked with a stack: the body
    /// may nest deep.
    fn local_definitions(&self, body: Node<'_>) -> BTreeSet<(String, u32)> {
        let mut locals = BTreeSet::new();
        let mut pending = vec![body];
        while let Some(body) = pending.pop() {
            let mut cursor = body.walk();
            for child in body.named_children(&mut cursor) {
                self.local_definition(child, &mut locals, &mut pending);
            }
        }
        locals
    }

    /// Adds what `child`, a statement of a module body, defines; queues the do-blocks of
    /// other macros, which may define more.
    fn local_definition<'t>(
        &self,
        child: Node<'t>,
        locals: &mut BTreeSet<(String, u32)>,
        pending: &mut Vec<Node<'t>>,
    ) {
        if child.kind() != "call" {
            return;
        }
        let Some(target) = Self::field(child, "target").filter(|t| t.kind() == "identifier") else {
            return;
        };
        let keyword = self.text(target);
        if !DEFINITIONS.contains(&keyword) && keyword != "defdelegate" {
            if keyword != "defmodule"
                && let Some(block) = Self::child_of_kind(child, "do_block")
            {
                pending.push(block);
            }
            return;
        }
        let Some(head) = Self::arguments(child).first().copied() else {
            return;
        };
        let head = if head.kind() == "binary_operator" && Self::operator(head) == "when" {
            Self::field(head, "left").unwrap_or(head)
        } else {
            head
        };
        let (name, params) = match head.kind() {
            "identifier" => (self.text(head), Vec::new()),
            "call" => match Self::field(head, "target").filter(|t| t.kind() == "identifier") {
                Some(target) => (self.text(target), Self::arguments(head)),
                None => return,
            },
            _ => return,
        };
        let defaults = params
            .iter()
            .filter(|p| p.kind() == "binary_operator" && Self::operator(**p) == "\\\\")
            .count() as u32;
        let total = params.len() as u32;
        for arity in total - defaults..=total {
            locals.insert((name.to_string(), arity));
        }
    }

    fn definition(&mut self, node: Node<'_>) {
        let args = Self::arguments(node);
        self.scoped(|walker| {
            if let Some(head) = args.first().copied() {
                walker.definition_head(head);
            }
            for arg in args.iter().skip(1) {
                walker.visit(*arg);
            }
            if let Some(block) = Self::child_of_kind(node, "do_block") {
                walker.visit_children(block);
            }
        });
    }

    /// A def head is not a call: walk its default values and guard only.
    fn definition_head(&mut self, head: Node<'_>) {
        match head.kind() {
            "binary_operator" if Self::operator(head) == "when" => {
                if let Some(left) = Self::field(head, "left") {
                    self.definition_head(left);
                }
                if let Some(guard) = Self::field(head, "right") {
                    self.visit(guard);
                }
            }
            "call" => {
                match Self::field(head, "target") {
                    Some(target) if target.kind() == "identifier" => {}
                    // `def unquote(name)(args)`
                    Some(target) => self.visit(target),
                    None => {}
                }
                for param in Self::arguments(head) {
                    if param.kind() == "binary_operator" && Self::operator(param) == "\\\\" {
                        if let Some(default) = Self::field(param, "right") {
                            self.visit(default);
                        }
                    } else {
                        self.visit(param);
                    }
                }
            }
            _ => {}
        }
    }

    /// `defdelegate f(a), to: M, as: :g` calls `M.g/1`.
    fn defdelegate(&mut self, node: Node<'_>) {
        let args = Self::arguments(node);
        let (Some(head), Some(to)) = (args.first().copied(), self.keyword(&args, "to")) else {
            return self.visit_children(node);
        };
        let head = match head.kind() {
            "binary_operator" if Self::operator(head) == "when" => {
                Self::field(head, "left").unwrap_or(head)
            }
            _ => head,
        };
        let Some(target) = Self::field(head, "target").filter(|t| t.kind() == "identifier") else {
            return;
        };
        let arity = Self::arguments(head).len() as u32;
        let function = match self.keyword(&args, "as") {
            Some(atom) if matches!(atom.kind(), "atom" | "quoted_atom") => {
                atom_name(self.text(atom))
            }
            _ => self.text(target).to_string(),
        };
        if let Some(module) = self.module_of(to)
            && self.targets.matches(&module)
        {
            self.record(module, &function, arity, target, CallKind::Delegate);
        }
    }

    /// `apply(Numpy, :mean, [x, 1])` with literal arguments calls `Numpy.mean/2`.
    fn literal_apply(&mut self, node: Node<'_>) -> bool {
        let args = Self::arguments(node);
        let [module, function, list] = args.as_slice() else {
            return false;
        };
        if !matches!(function.kind(), "atom" | "quoted_atom") || list.kind() != "list" {
            return false;
        }
        let Some(module) = self.module_of(*module) else {
            return false;
        };
        let name = atom_name(self.text(*function));
        let mut cursor = list.walk();
        let arity = list
            .named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .count() as u32;
        if self.targets.matches(&module) {
            self.record(module, &name, arity, *function, CallKind::Apply);
        }
        self.visit(*list);
        true
    }
}

/// `:mean` and `:"mean"` → `mean`.
fn atom_name(text: &str) -> String {
    text.trim_start_matches(':').trim_matches('"').to_string()
}
