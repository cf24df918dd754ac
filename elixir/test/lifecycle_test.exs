defmodule SnakeBridge.LifecycleTest do
  use ExUnit.Case, async: true

  @moduletag timeout: 120_000

  # A separate VM starts the runtime, prints its workers' pids, and is then killed with
  # SIGKILL: no Python process may outlive it.
  test "no Python worker outlives the VM" do
    binary = Application.fetch_env!(:snakebridge, :binary)
    project = Application.fetch_env!(:snakebridge, :project_dir)
    ebin = Path.join(Mix.Project.build_path(), "lib/snakebridge/ebin")

    script = """
    Application.put_env(:snakebridge, :binary, #{inspect(binary)})
    Application.put_env(:snakebridge, :project_dir, #{inspect(project)})
    {:ok, _} = Application.ensure_all_started(:snakebridge)
    {:ok, workers} = SnakeBridge.workers()
    IO.puts(Enum.map_join(workers, " ", & &1.pid))
    System.cmd("kill", ["-9", System.pid()])
    """

    {output, _status} = System.cmd("elixir", ["-pa", ebin, "-e", script], stderr_to_stdout: true)
    pids = output |> String.split() |> Enum.filter(&(&1 =~ ~r/^\d+$/))
    assert length(pids) == 2, output

    for pid <- pids, do: assert(dead_within?(pid, 5_000), "worker #{pid} outlived the VM")
  end

  @doc false
  def dead_within?(pid, ms) do
    cond do
      not File.exists?("/proc/#{pid}") -> true
      ms <= 0 -> false
      true -> Process.sleep(50) && dead_within?(pid, ms - 50)
    end
  end
end
