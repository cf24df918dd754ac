defmodule SnakeBridge.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    # Replies are decoded with `:safe`, which takes only atoms that exist: load the modules
    # whose names and fields replies carry.
    for module <- [
          SnakeBridge.Error,
          SnakeBridge.Ref,
          SnakeBridge.Complex,
          SnakeBridge.Runtime,
          Date,
          Time,
          NaiveDateTime,
          DateTime,
          Calendar.ISO,
          MapSet
        ],
        do: Code.ensure_loaded(module)

    SnakeBridge.Error.kinds()
    SnakeBridge.Runtime.__reply_atoms__()
    children = [SnakeBridge.Runtime.Server]
    Supervisor.start_link(children, strategy: :one_for_one, name: SnakeBridge.Supervisor)
  end
end
