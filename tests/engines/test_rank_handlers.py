"""Rank 0 attaches every handler; the other ranks only those that must run everywhere."""

import ignite.distributed as idist
import torch
from monai.handlers import LrScheduleHandler, StatsHandler, ValidationHandler

from common.engines import LossLogger, RankReport, rank_handlers


def test_ranks_above_0_keep_schedulers_validation_and_their_report(tmp_path, monkeypatch):
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    schedule = LrScheduleHandler(torch.optim.lr_scheduler.StepLR(optimizer, 1), print_lr=False)
    validation = ValidationHandler(interval=1, validator=None)
    report = RankReport(tmp_path, torch.nn.Linear(1, 1))
    writers = [StatsHandler(), LossLogger(tmp_path / "losses.csv")]
    handlers = [schedule, validation, *writers]
    assert rank_handlers(handlers, first=[report]) == [report, *handlers]  # a single process: everything
    monkeypatch.setattr(idist, "get_rank", lambda: 1)
    assert rank_handlers(handlers, first=[report]) == [report, schedule, validation]
    assert rank_handlers(writers) == [] and rank_handlers(None) == []
