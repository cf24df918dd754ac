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
    def inspect(ref, _opts), do: "#SnakeBridge.Ref<#{ref.python_type} #{ref.id}>"
  end
end
