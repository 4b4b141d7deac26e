"""Lists and logs show personal numbers masked."""
from core.masking import mask_card_number, mask_id_number, mask_phone


def test_a_phone_shows_its_first_three_and_last_four_digits():
    assert mask_phone("13800001234") == "138****1234"
    assert mask_phone(" 138 0000 1234 ") == "138****1234"


def test_an_id_number_hides_the_birth_date_and_sequence():
    assert mask_id_number("420502199001011234") == "420502********1234"
    assert mask_id_number("42050219900101123X") == "420502********123X"
    assert mask_id_number("420502900101123") == "420502*****1123", "an old 15-digit number"


def test_a_bank_card_shows_the_issuer_and_the_last_four_digits():
    assert mask_card_number("6222021234567890123") == "622202*********0123"


def test_a_value_too_short_to_mask_partly_is_masked_whole_and_none_is_empty():
    assert mask_phone("12345") == "*****"
    assert mask_phone("") == ""
    assert mask_id_number(None) == ""
