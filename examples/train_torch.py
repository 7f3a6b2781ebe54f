"""Train a tiny segmentation model with ``segloss_xp.torch.DiceCELoss`` (PyTorch, CPU, ~1 s)."""

import torch

from segloss_xp.torch import DiceCELoss

torch.manual_seed(0)
images = torch.randn(8, 1, 32, 32)
labels = (images[:, 0] > 0.0).long() + (images[:, 0] > 1.0).long()  # 3 classes by intensity
model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.Conv2d(8, 3, 1))
criterion = DiceCELoss(lambda_dice=1.0, lambda_ce=1.0)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

for step in range(20):
    optimizer.zero_grad()
    loss = criterion(model(images), labels)
    loss.backward()
    optimizer.step()
    print(f"step {step:2d}  loss {loss.item():.4f}")
