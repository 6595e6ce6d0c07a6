console.log('setvae-mnist: not written yet');
