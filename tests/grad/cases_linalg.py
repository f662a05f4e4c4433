"""Gradient cases of Einsum (src/ops/linalg_grad.c)."""
import torch
from check_grads import Case


def einsum(eq, *shapes):
    names = "abcd"[:len(shapes)]
    return Case(f"Einsum {eq}", "Einsum", [(n, s) for n, s in zip(names, shapes)],
                lambda t: [torch.einsum(eq, *[t[n] for n in names])], attrs={"equation": eq})


CASES = [
    einsum("ij,jk->ik", (3, 4), (4, 5)),
    einsum("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    einsum("ij,jk", (3, 4), (4, 2)),
    einsum("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    einsum("i,j->ij", (3,), (4,)),
    einsum("ij->ji", (3, 4)),
    einsum("ij->i", (3, 4)),
    einsum("ij->", (3, 4)),
    einsum("ij,k->ik", (3, 4), (5,)),  # j summed by the first operand alone
    einsum("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
    einsum("...ij,...jk->...ik", (2, 3, 4), (1, 4, 5)),  # "..." broadcast
    einsum("...i,i->...", (2, 3, 4), (4,)),
    einsum("ij,ij->ij", (3, 1), (3, 4)),  # a label of size 1 broadcast
    # an operand that repeats a label reads a diagonal
    einsum("ii->i", (4, 4)),
    einsum("bii->bi", (2, 3, 3)),
    einsum("ii->", (3, 3)),
    einsum("iii->i", (3, 3, 3)),
    einsum("iji->ij", (3, 2, 3)),
    einsum("iij,jk->ik", (3, 3, 4), (4, 2)),
    einsum("ii,i->i", (3, 3), (3,)),
    einsum("bii,bj->bij", (2, 3, 3), (1, 4)),  # and b broadcast
    einsum("...ii->...i", (2, 3, 3)),
]
