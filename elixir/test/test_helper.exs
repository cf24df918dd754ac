# The tests run a real `snakebridge runtime serve` (SNAKEBRIDGE_BIN, or the workspace's debug
# build) with real Python workers, on a throwaway project holding the fixture module.
root = Path.expand("../..", __DIR__)
binary = System.get_env("SNAKEBRIDGE_BIN") || Path.join(root, "target/debug/snakebridge")
python = System.get_env("SNAKEBRIDGE_PYTHON") || "python3"

project =
  Path.join(System.tmp_dir!(), "snakebridge-elixir-test-#{System.unique_integer([:positive])}")

File.mkdir_p!(Path.join(project, "py"))

File.cp!(
  Path.join(root, "tests/fixtures/python/runtime_fixture.py"),
  Path.join(project, "py/runtime_fixture.py")
)

File.write!(Path.join(project, "snakebridge.toml"), """
[python]
executable = "#{python}"

[libraries]
runtime_fixture = { path = "py" }

[runtime]
workers = 2
""")

Application.put_env(:snakebridge, :binary, binary)
Application.put_env(:snakebridge, :project_dir, project)

ExUnit.after_suite(fn _ ->
  # Stop the runtime (and its workers) before their directory goes.
  Application.stop(:snakebridge)
  File.rm_rf(project)
end)

# Tests of libraries CI does not install run where they are (`pip install scipy`).
{_, scipy} = System.cmd(python, ["-c", "import scipy"], stderr_to_stdout: true)
ExUnit.start(exclude: if(scipy == 0, do: [], else: [:scipy]))
