"""Temperature scaling (Guo et al., 2017): one scalar T fitted on validation logits by NLL."""

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, head: str) -> float:
    """The T > 0 minimizing validation NLL of softmax(logits / T) (or sigmoid for multi-label)."""
    logits = logits.detach().float()
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def nll():
        optimizer.zero_grad()
        scaled = logits / log_t.exp()
        if head == "sigmoid":
            loss = F.binary_cross_entropy_with_logits(scaled, targets.float())
        else:
            loss = F.cross_entropy(scaled, targets.long())
        loss.backward()
        return loss

    optimizer.step(nll)
    return float(log_t.detach().exp().clamp(0.05, 20.0))
