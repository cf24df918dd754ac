defmodule SnakeBridge.Ref do
  @moduledoc """
  A reference to a Python object that lives in a worker process.
  """

  @enforce_keys [:id]
  defstruct [:id, :session, :python_type]

  @type t :: %__MODULE__{id: String.t(), session: String.t() | nil, python_type: String.t() | nil}
end
