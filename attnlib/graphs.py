"""Graph attention (GAT, Velickovic et al., ICLR 2018) as masked dense attention.

Taught in the chapter *Graphs*. Rows are nodes: node features have shape
``(nodes, in_features)``. ``adjacency[i, j]`` is True when node j is a
neighbour of node i, so row i of every (nodes, nodes) array belongs to the node
being updated (the query) and column j to the neighbour it reads (the key).
"""
import numpy as np

from attnlib.masks import adjacency_mask
from attnlib.softmax import masked_softmax


def edges_to_adjacency(num_nodes, edges, symmetric=True):
    """Adjacency matrix (num_nodes, num_nodes) bool from a list of (i, j) pairs.

    symmetric=True treats every edge as undirected (sets [i, j] and [j, i]).
    """
    adjacency = np.zeros((num_nodes, num_nodes), dtype=bool)
    for i, j in edges:
        adjacency[i, j] = True
        if symmetric:
            adjacency[j, i] = True
    return adjacency


def leaky_relu(x, negative_slope=0.2):
    """LeakyReLU; GAT uses a negative slope of 0.2."""
    return np.where(x > 0, x, negative_slope * x)


def gat_scores(projected, a_src, a_dst, negative_slope=0.2):
    """Unnormalised GAT scores e_ij = LeakyReLU(a^T [W h_i || W h_j]) for every pair.

    projected: (nodes, out_features), row i is W h_i (in row convention h_i @ W).
    The attention vector a (2 * out_features,) is split in two halves:
    a = concat(a_dst, a_src). a_dst multiplies W h_i, the node being updated
    (the destination of the messages, the query); a_src multiplies W h_j, the
    neighbour sending its features (the source, the key). So
    a^T [W h_i || W h_j] = a_dst . W h_i + a_src . W h_j.
    Returns (nodes, nodes) scores, row i = node i's scores over all nodes j.
    """
    dst_part = projected @ a_dst  # (nodes,): a_dst . W h_i
    src_part = projected @ a_src  # (nodes,): a_src . W h_j
    return leaky_relu(dst_part[:, None] + src_part[None, :], negative_slope)  # (nodes, nodes)


def graph_attention(node_features, adjacency, W, a_src, a_dst, add_self_loops=True,
                    negative_slope=0.2):
    """One single-head GAT layer, computed as dense attention with an adjacency mask.

    node_features: (nodes, in_features), one node per row (h_i).
    adjacency: (nodes, nodes), True/nonzero at [i, j] when j is a neighbour of i.
    W: (in_features, out_features); a_src, a_dst: (out_features,) (see gat_scores).
    add_self_loops: node i is in its own neighbourhood, as in the GAT paper.

    alpha_ij = softmax over neighbours j of e_ij, exactly 0 for non-neighbours;
    output_i = sum_j alpha_ij W h_j. The paper then applies a nonlinearity
    (ELU) and, with several heads, concatenates or averages them; both are left
    to the caller. A node with no neighbour (and no self-loop) gets weights 0
    and a zero output.
    Returns (output (nodes, out_features), weights (nodes, nodes)).
    """
    projected = node_features @ W  # (nodes, out_features): row j is W h_j
    scores = gat_scores(projected, a_src, a_dst, negative_slope)  # (nodes, nodes)
    mask = adjacency_mask(adjacency, add_self_loops)  # (nodes, nodes) bool
    weights = masked_softmax(scores, mask=mask)  # (nodes, nodes), non-edges exactly 0
    return weights @ projected, weights  # (nodes, out_features)
