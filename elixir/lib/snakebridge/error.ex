defmodule SnakeBridge.Error do
  @moduledoc """
  A failed call into Python: the Python exception's type, message and traceback, or a
  failure of the runtime itself (`python_type` is `nil` then).
  """

  defexception [:python_type, :message, :traceback]

  @type t :: %__MODULE__{
          python_type: String.t() | nil,
          message: String.t(),
          traceback: String.t() | nil
        }
end
