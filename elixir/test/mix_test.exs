defmodule SnakeBridge.MixTest do
  # Changes the working directory: not async.
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  @moduletag timeout: 120_000

  setup do
    source = Application.fetch_env!(:snakebridge, :project_dir)

    project =
      Path.join(System.tmp_dir!(), "snakebridge-mix-#{System.unique_integer([:positive])}")

    File.mkdir_p!(Path.join(project, "lib"))
    File.cp_r!(Path.join(source, "py"), Path.join(project, "py"))
    File.cp!(Path.join(source, "snakebridge.toml"), Path.join(project, "snakebridge.toml"))

    File.write!(Path.join(project, "lib/app.ex"), """
    defmodule App do
      def total(a, b), do: RuntimeFixture.add(a, b)
    end
    """)

    previous = File.cwd!()
    File.cd!(project)

    on_exit(fn ->
      File.cd!(previous)
      File.rm_rf!(project)
    end)

    %{project: project}
  end

  test "the compiler generates the bindings the source needs", %{project: project} do
    assert {:ok, []} = Mix.Tasks.Compile.Snakebridge.run([])
    generated = File.read!(Path.join(project, "lib/snakebridge_generated/runtime_fixture.ex"))
    assert generated =~ "def add(a, b)"
  end

  test "strict, it verifies: a call without bindings fails with the reason", %{project: project} do
    assert {:ok, []} = Mix.Tasks.Compile.Snakebridge.run([])

    File.write!(
      Path.join(project, "lib/more.ex"),
      "defmodule More do\n  def f, do: RuntimeFixture.pid()\nend\n"
    )

    Application.put_env(:snakebridge, :strict, true)

    try do
      {result, output} = with_io(:stderr, fn -> Mix.Tasks.Compile.Snakebridge.run([]) end)
      assert {:error, [%Mix.Task.Compiler.Diagnostic{message: message}]} = result
      assert message =~ "RuntimeFixture.pid"
      assert output =~ "lib/more.ex"
    after
      Application.delete_env(:snakebridge, :strict)
    end
  end

  test "each problem is printed and is a diagnostic at the call it is about" do
    File.write!(
      "lib/typo.ex",
      "defmodule Typo do\n  def f(x), do: RuntimeFixture.ad(x, 1)\nend\n"
    )

    {result, output} = with_io(:stderr, fn -> Mix.Tasks.Compile.Snakebridge.run([]) end)
    assert {:error, [%Mix.Task.Compiler.Diagnostic{} = diagnostic]} = result
    assert diagnostic.file == Path.absname("lib/typo.ex")
    assert {2, _column} = diagnostic.position
    assert diagnostic.message =~ "RuntimeFixture.add"
    assert output =~ "lib/typo.ex:2:"
  end

  test "a missing binary says so, on Elixir 1.14 too" do
    binary = Application.fetch_env!(:snakebridge, :binary)
    Application.put_env(:snakebridge, :binary, "/nonexistent/snakebridge")

    try do
      {result, output} = with_io(:stderr, fn -> Mix.Tasks.Compile.Snakebridge.run([]) end)
      assert {:error, [%Mix.Task.Compiler.Diagnostic{message: message}]} = result
      assert message =~ "does not exist"
      assert output =~ "/nonexistent/snakebridge"
    after
      Application.put_env(:snakebridge, :binary, binary)
    end
  end

  test "the JSON reader reads what the binary writes" do
    assert SnakeBridge.JSON.decode(
             ~s({"a": [1, -2.5e3, true, null, "x\\n\\u00e9\\ud83d\\ude00"], "b": {}})
           ) ==
             {:ok, %{"a" => [1, -2.5e3, true, nil, "x\né😀"], "b" => %{}}}

    assert SnakeBridge.JSON.decode("[1,") == :error
    assert SnakeBridge.JSON.decode("{} x") == :error
  end

  test "mix snakebridge.* run the binary's commands" do
    output = capture_io(fn -> Mix.Tasks.Snakebridge.Scan.run(["--format", "json"]) end)
    assert output =~ ~s("function": "add")
  end
end
