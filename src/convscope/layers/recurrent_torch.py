"""The PyTorch modules of ``embedding`` and the recurrent kinds (imported only by their
``to_torch``: the core never imports torch). Generated source (pytorch/source.py) copies a
class as it copies torch_modules' helpers: each keeps its constructor arguments
(``init_args``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Embed(nn.Module):
    """nn.Embedding on (N, T) indices, returning channels-first (N, D, T)."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)

    def init_args(self) -> dict[str, object]:
        return {"num_embeddings": self.embedding.num_embeddings,
                "embedding_dim": self.embedding.embedding_dim}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x.long()).transpose(1, 2)


class RNN(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU on channels-first (N, F, T) sequences, Keras's outputs:
    every step as (N, H', T) when ``return_sequences``, else the final state (N, H');
    bidirectional outputs concatenated, summed, multiplied or averaged (``merge_mode``)."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, bias: bool = True,
                 bidirectional: bool = False, merge_mode: str = "concat",
                 return_sequences: bool = False, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.cell, self.merge_mode, self.return_sequences = cell, merge_mode, return_sequences
        kwargs: dict[str, Any] = {"bias": bias, "batch_first": True,
                                  "bidirectional": bidirectional}
        if cell == "simple":
            kwargs["nonlinearity"] = nonlinearity
        module = {"simple": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = module(input_size, hidden_size, **kwargs)

    def init_args(self) -> dict[str, object]:
        rnn = self.rnn
        out: dict[str, object] = {"cell": self.cell, "input_size": rnn.input_size,
                                  "hidden_size": rnn.hidden_size}
        if not rnn.bias:
            out["bias"] = False
        if rnn.bidirectional:
            out["bidirectional"] = True
            out["merge_mode"] = self.merge_mode
        if self.return_sequences:
            out["return_sequences"] = True
        if self.cell == "simple" and rnn.nonlinearity != "tanh":
            out["nonlinearity"] = rnn.nonlinearity
        return out

    def _merge(self, forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
        if self.merge_mode == "concat":
            return torch.cat([forward, backward], dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, state = self.rnn(x.transpose(1, 2))
        hidden = self.rnn.hidden_size
        if self.return_sequences:
            if self.rnn.bidirectional and self.merge_mode != "concat":
                y = self._merge(y[..., :hidden], y[..., hidden:])
            return y.transpose(1, 2)
        h_n = state[0] if isinstance(state, tuple) else state  # (directions, N, H)
        if self.rnn.bidirectional:
            return self._merge(h_n[-2], h_n[-1])
        return h_n[-1]
