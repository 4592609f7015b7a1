"""Resumable shuffling: each epoch's order depends on (seed, epoch) alone, Lightning's set_epoch reaches
it in both loader forms, and a loader restored from its state hands out exactly the batches left."""

import torch
from lightning_fabric.utilities.data import _set_sampler_epoch
from torch.utils.data import TensorDataset

from neuralsolvers.train.sampling import EpochBatches, EpochOrder, ResumableDataLoader

DATA = TensorDataset(torch.arange(23))


def loaders(seed: int = 3) -> dict[str, ResumableDataLoader]:
    """The two forms the data modules use: batches as the sampler, or indices batched by the loader."""
    return {
        "batches as sampler": ResumableDataLoader(DATA, sampler=EpochBatches(EpochOrder(len(DATA), seed), 5), batch_size=None),
        "indices": ResumableDataLoader(DATA, sampler=EpochOrder(len(DATA), seed), batch_size=5),
    }


def batches(loader: ResumableDataLoader) -> list[list[int]]:
    return [torch.as_tensor(batch[0] if isinstance(batch, list) else batch).reshape(-1).tolist() for batch in loader]


def test_epoch_order_is_a_permutation_set_by_seed_and_epoch():
    order = EpochOrder(50, seed=1)
    first = list(order)
    assert sorted(first) == list(range(50)) and list(EpochOrder(50, seed=1)) == first
    order.set_epoch(1)
    assert list(order) != first and list(EpochOrder(50, seed=2)) != first
    order.skip = 20
    assert list(order) == _epoch(50, 1, 1)[20:] and list(order) == _epoch(50, 1, 1)  # the skip is used once


def _epoch(size: int, seed: int, epoch: int) -> list[int]:
    order = EpochOrder(size, seed)
    order.set_epoch(epoch)
    return list(order)


def test_lightning_set_epoch_reaches_the_order_in_both_forms():
    for name, loader in loaders().items():
        _set_sampler_epoch(loader, 4)
        assert sum(batches(loader), []) == _epoch(len(DATA), 3, 4), name


def test_a_restored_loader_hands_out_exactly_the_batches_left():
    for name, loader in loaders().items():
        _set_sampler_epoch(loader, 2)
        whole = batches(loader)
        assert len(whole) == 5 and [len(b) for b in whole] == [5, 5, 5, 5, 3], name
        iterator = iter(loader)
        seen = [next(iterator) for _ in range(2)]
        assert len(seen) == 2 and loader.state_dict() == {"epoch": 2, "batches": 2}, name
        restored = loaders()[name]
        restored.load_state_dict(loader.state_dict())
        assert batches(restored) == whole[2:], name
        assert restored.state_dict() == {"epoch": 3, "batches": 0}, name  # an epoch run out: the next, from its start
        following = loaders()[name]
        following.load_state_dict(restored.state_dict())
        assert sum(batches(following), []) == _epoch(len(DATA), 3, 3), name
