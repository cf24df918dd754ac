defmodule SnakeBridge.Ref do
  @moduledoc """
  A Python object that lives in a worker process, such as a numpy array or a class
  instance. Pass it back to any call (in the same session) to use the object; the object
  is freed with `SnakeBridge.release/1`, or with its session.
  """

  @enforce_keys [:id]
  defstruct [:id, :session, :library, :python_type]

  @type t :: %__MODULE__{
          id: String.t(),
          session: String.t() | nil,
          library: String.t() | nil,
          python_type: String.t() | nil
        }

  defimpl Inspect do
    # Long enough to recognise a value, short enough for a log line; and a worker busy in
    # Python holds up a shell or a log line for at most a second.
    @limit 60
    @wait 1_000

    # The repr is fetched only here, when a reference is shown, and only from a runtime that
    # is already running: inspecting never starts one, and the runtime's own process (whose
    # state and crash reports hold references) never waits on itself.
    def inspect(ref, _opts) do
      head = "#SnakeBridge.Ref<#{ref.python_type} #{ref.id}"

      with true <- SnakeBridge.Runtime.Server.running?(),
           {:ok, text} <- SnakeBridge.repr(ref, @limit, @wait) do
        head <> " " <> text <> ">"
      else
        _ -> head <> ">"
      end
    end
  end
end
