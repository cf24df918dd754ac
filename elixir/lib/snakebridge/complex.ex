defmodule SnakeBridge.Complex do
  @moduledoc "A Python `complex`, both ways."

  @enforce_keys [:real, :imag]
  defstruct [:real, :imag]

  @type t :: %__MODULE__{real: float(), imag: float()}
end
