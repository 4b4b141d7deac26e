"""ID numbers and phones are stored encrypted, readable after a key rotation, and found by a blind index."""
import pytest

from core.crypto import Keyring, KeySettingError, new_key


def test_a_value_encrypted_under_an_old_key_is_still_readable_after_rotation():
    old, new, index = new_key(), new_key(), new_key()
    before = Keyring.parse(f"k1:{old}", index)
    stored = before.encrypt("420502199001011234")

    after = Keyring.parse(f"k2:{new},k1:{old}", index)

    assert after.decrypt(stored) == "420502199001011234"
    assert after.encrypt("x").startswith("k2:")
    assert "420502" not in stored


def test_the_same_value_encrypts_differently_each_time_but_has_one_blind_index():
    ring = Keyring.parse(f"k1:{new_key()}", new_key())

    assert ring.encrypt("13800001234") != ring.encrypt("13800001234")
    assert ring.blind_index("phone", "13800001234") == ring.blind_index("phone", "13800001234")
    assert ring.blind_index("phone", "13800001234") != ring.blind_index("id_number", "13800001234")


def test_a_value_under_a_key_the_deployment_lost_names_the_key():
    stored = Keyring.parse(f"k1:{new_key()}", new_key()).encrypt("x")

    with pytest.raises(KeySettingError, match="'k1'"):
        Keyring.parse(f"k9:{new_key()}", new_key()).decrypt(stored)


@pytest.mark.parametrize("keys", ["", "k1:not-base64!", "k1:" + "QUJD", "k-1:" + new_key()])
def test_a_malformed_key_setting_is_refused(keys):
    with pytest.raises(KeySettingError, match="GONGHUI_DATA_KEYS"):
        Keyring.parse(keys, new_key())
