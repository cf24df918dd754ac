defmodule SnakeBridge.Bytes do
  @moduledoc """
  A binary to send to Python as `bytes`. Plain binaries that are valid UTF-8 arrive as
  `str`; wrap one in this struct when the Python side needs `bytes`. Python's `bytes`
  come back as plain binaries.
  """

  @enforce_keys [:data]
  defstruct [:data]

  @type t :: %__MODULE__{data: binary()}

  @doc "Wraps `data`."
  @spec new(binary()) :: t()
  def new(data) when is_binary(data), do: %__MODULE__{data: data}
end
