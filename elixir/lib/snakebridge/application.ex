defmodule SnakeBridge.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [SnakeBridge.Runtime.Server]
    Supervisor.start_link(children, strategy: :one_for_one, name: SnakeBridge.Supervisor)
  end
end
