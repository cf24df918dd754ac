# Compiles Elixir files with a compiler tracer and prints every remote or imported call into the
# given modules as `file<TAB>line<TAB>Module<TAB>function<TAB>arity`. The scanner's tests compare
# its output against this, so the real compiler is the oracle.
#
#     elixir trace_calls.exs ROOT MODULES FILE...

[root, modules | files] = System.argv()
targets = String.split(modules, ",")

defmodule Tracer do
  def trace({kind, meta, module, name, arity}, env)
      when kind in [:remote_function, :imported_function] do
    module = inspect(module)
    targets = :persistent_term.get(:trace_targets)

    if Enum.any?(targets, &(module == &1 or String.starts_with?(module, &1 <> "."))) do
      root = :persistent_term.get(:trace_root)
      file = Path.relative_to(env.file, root)
      IO.puts(Enum.join([file, meta[:line], module, name, arity], "\t"))
    end

    :ok
  end

  def trace(_event, _env), do: :ok
end

:persistent_term.put(:trace_targets, targets)
:persistent_term.put(:trace_root, Path.expand(root))
Code.put_compiler_option(:tracers, [Tracer])
Code.put_compiler_option(:ignore_module_conflict, true)

files = Enum.map(files, &Path.expand(&1, root))

case Kernel.ParallelCompiler.compile(files) do
  {:ok, _modules, _warnings} -> :ok
  {:error, errors, _warnings} ->
    IO.puts(:stderr, inspect(errors))
    System.halt(1)
end
