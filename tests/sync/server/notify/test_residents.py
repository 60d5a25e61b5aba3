"""Who a case is for: names masked, the kiosk's resident key, household phone numbers."""
import pytest

from kiosk.store.cases import resident_key as kiosk_key
from sync.server.notify.residents import mask_name, resident_key


@pytest.mark.parametrize("name, masked", [("张晓明", "张*明"), ("李四", "李*"), ("欧阳娜娜", "欧**娜"),
                                          ("Anna Li", "A*** L*"), ("", "")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_the_servers_resident_key_is_the_kiosks():
    for number in ("110101198503120033", "11010519491231002x"):
        assert resident_key(number) == kiosk_key(number)
