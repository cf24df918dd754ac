defmodule SnakeBridge.Error do
  @moduledoc """
  A failed call into Python.

  `kind` says what failed: `:python` for a Python exception (then `python_type`, such as
  `"ValueError"`, and `traceback` are set), or the runtime's own reason: `:timeout`,
  `:worker_crashed`, `:worker_start`, `:overloaded`, `:too_large`, `:runtime_unavailable`,
  `:invalid_request`, `:protocol`, `:transport`, `:shut_down`.
  """

  @kinds [
    :python,
    :timeout,
    :worker_crashed,
    :worker_start,
    :overloaded,
    :too_large,
    :runtime_unavailable,
    :invalid_request,
    :protocol,
    :transport,
    :shut_down
  ]

  defexception [:kind, :python_type, :message, :traceback]

  @doc "Every `kind` an error can have."
  @spec kinds() :: [atom()]
  def kinds, do: @kinds

  @type t :: %__MODULE__{
          kind: atom(),
          python_type: String.t() | nil,
          message: String.t(),
          traceback: String.t() | nil
        }

  @impl true
  def message(%__MODULE__{python_type: nil, kind: kind, message: message}),
    do: "#{kind}: #{message}"

  def message(%__MODULE__{python_type: type, message: message}), do: "#{type}: #{message}"

  @doc false
  def from_reply(%{kind: kind, python_type: type, message: message, traceback: traceback}) do
    %__MODULE__{kind: kind, python_type: type, message: message, traceback: traceback}
  end
end
